"""Build-time tools (never imported by the add-on).

Every tool imports its siblings and the package absolutely (``from tools.bvh import read_bvh``,
``from blender_smplify.core.joints import ...``); a tool meant to be run puts the repository
first on ``sys.path`` before those imports, so it works both ways from the repository root::

    python tools/build_open_body_model.py --help
    python -m tools.build_open_body_model --help
"""

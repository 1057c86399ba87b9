"""The Blender layer: the only package of blender_smplify that imports bpy and mathutils."""

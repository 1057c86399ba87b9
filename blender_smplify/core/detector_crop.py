"""Square, rotated crops of an image for the joint detector, the way back to image pixels,
and the crop-space post-processing of the landmark model's outputs.

A crop is described by :class:`Crop`: centre, side length and rotation in the image. Crop pixel
coordinates (u, v) in [0, size] map to image coordinates p by

    p = centre + (side / size) · R(rotation) · M · ((u, v) − size / 2),

M = diag(−1, 1) for a mirrored crop, the identity otherwise, with continuous pixel coordinates
(pixel (i, j) covers [j, j + 1) × [i, i + 1), so its centre is at (j + 0.5, i + 0.5)) in both
the image and the crop. R rotates by ``rotation`` radians
(x right, y down), so a person whose body axis is turned by ``rotation`` comes out upright.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Crop:
    """Where a square model input lies in the image.

    Attributes
    ----------
    centre : (2,) image pixels.
    side : side length in image pixels.
    rotation : radians; the crop's x axis points along (cos r, sin r) in the image.
    size : model input side in pixels (256).
    mirrored : the crop's x axis is reversed (u → size − u before the rotation): the model
        sees the mirror image of the unmirrored crop, a person's left where their right was.
    """

    centre: np.ndarray
    side: float
    rotation: float = 0.0
    size: int = 256
    mirrored: bool = False

    def mirror(self) -> Crop:
        """The same square with its x axis reversed (mirrored twice: the crop itself)."""
        return Crop(self.centre, self.side, self.rotation, self.size, not self.mirrored)

    def crop_to_image(self) -> np.ndarray:
        """(2, 3) affine matrix A with p_image = A @ (u, v, 1)."""
        k = self.side / self.size
        c, s = np.cos(self.rotation), np.sin(self.rotation)
        lin = k * np.array([[c, -s], [s, c]])
        if self.mirrored:
            lin[:, 0] = -lin[:, 0]  # R @ diag(-1, 1): u runs the other way
        offset = np.asarray(self.centre, dtype=np.float64) - lin @ np.full(2, self.size / 2)
        return np.hstack([lin, offset[:, None]])

    def to_image(self, uv: np.ndarray) -> np.ndarray:
        """Map (N, 2) crop coordinates to (N, 2) image coordinates."""
        return _affine(self.crop_to_image(), uv)

    def to_crop(self, xy: np.ndarray) -> np.ndarray:
        """Map (N, 2) image coordinates to (N, 2) crop coordinates."""
        a = self.crop_to_image()
        inv = np.linalg.inv(a[:, :2])
        return _affine(np.hstack([inv, -(inv @ a[:, 2])[:, None]]), xy)


def _affine(a: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """(2, 3) affine map of (N, 2) points (elementwise: tiny BLAS calls are slow here)."""
    pts = np.asarray(pts, dtype=np.float64)
    x, y = pts[:, 0], pts[:, 1]
    return np.stack(
        [a[0, 0] * x + a[0, 1] * y + a[0, 2], a[1, 0] * x + a[1, 1] * y + a[1, 2]], axis=1
    )


def letterbox(height: int, width: int, size: int = 256) -> Crop:
    """The crop that holds the whole image, centred, padded to a square."""
    return Crop(np.array([width / 2.0, height / 2.0]), float(max(width, height)), 0.0, size)


def roi_from_points(centre: np.ndarray, top: np.ndarray, scale: float, size: int = 256) -> Crop:
    """Crop around a person from the detector's two alignment points (as MediaPipe does).

    Parameters
    ----------
    centre : (2,) image pixels of the body centre (BlazePose auxiliary landmark 33).
    top : (2,) image pixels of the point whose distance to the centre is the body radius and
        whose direction is "up" (auxiliary landmark 34).
    scale : side = 2 · radius · scale.
    """
    delta = np.asarray(top, float) - np.asarray(centre, float)
    radius = float(np.hypot(*delta))
    rotation = np.pi / 2 - np.arctan2(-delta[1], delta[0])
    rotation = (rotation + np.pi) % (2 * np.pi) - np.pi
    return Crop(np.asarray(centre, float), max(2.0 * radius * scale, 8.0), float(rotation), size)


def sample(image: np.ndarray, crop: Crop, fill: float | None = 0.0) -> np.ndarray:
    """Bilinear sample of a crop of an image.

    Parameters
    ----------
    image : (H, W, C) uint8 or float.
    crop : where to sample.
    fill : value outside the image; None: the nearest edge pixel's.

    Returns
    -------
    (size, size, C) float32 in the image's value range.
    """
    step = crop.side / crop.size
    src, a = image, crop.crop_to_image()
    factor = int(step // 2) if step >= 3.0 else 1
    if factor > 1:  # shrink by box averaging first, so bilinear sampling does not alias
        # only the part of the image the crop covers, on a grid aligned to the factor
        corners = crop.to_image(
            np.array(
                [[0, 0], [crop.size, 0], [0, crop.size], [crop.size, crop.size]], dtype=np.float64
            )
        )
        lo = np.maximum(np.floor(corners.min(axis=0) / factor).astype(int) - 1, 0) * factor
        hi = np.minimum(
            np.ceil(corners.max(axis=0)).astype(int) + factor, [image.shape[1], image.shape[0]]
        )
        if np.all(hi - lo >= factor):
            src = box_downsample(image[lo[1] : hi[1], lo[0] : hi[0]], factor)
            a = a.copy()
            a[:, 2] -= lo
            a = a / factor
    n = crop.size
    grid = np.arange(n, dtype=np.float64) + 0.5
    x = a[0, 0] * grid[None, :] + a[0, 1] * grid[:, None] + a[0, 2] - 0.5
    y = a[1, 0] * grid[None, :] + a[1, 1] * grid[:, None] + a[1, 2] - 0.5
    return bilinear(src, x, y, fill)


def box_downsample(image: np.ndarray, factor: int) -> np.ndarray:
    """(H, W, C) -> (H // factor, W // factor, C) float32 block means."""
    h, w = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    if h == 0 or w == 0:
        return image.astype(np.float32)
    region = image[:h, :w]
    if region.ndim == 2:
        region = region[:, :, None]
    wide = np.uint16 if region.dtype == np.uint8 and factor <= 16 else np.float64
    acc = np.zeros((h // factor, w // factor, region.shape[2]), dtype=wide)
    for i in range(factor):  # strided slices: much faster than a mean over reshaped axes
        for j in range(factor):
            acc += region[i::factor, j::factor]
    return (acc / np.float32(factor * factor)).astype(np.float32)


def bilinear(
    image: np.ndarray, x: np.ndarray, y: np.ndarray, fill: float | None = 0.0
) -> np.ndarray:
    """Sample (H, W, C) ``image`` at array-index positions ``x``, ``y`` (any equal shapes).

    Returns
    -------
    (*x.shape, C) float32; positions more than a pixel outside the image get ``fill`` (None:
    the nearest edge pixel's value).
    """
    h, w = image.shape[:2]
    coords = np.stack([np.asarray(y, np.float32), np.asarray(x, np.float32)])
    out = np.empty(x.shape + image.shape[2:], dtype=np.float32)
    for c in range(image.shape[2]):  # scipy's C loop beats numpy gathers by about 2x here
        ndimage.map_coordinates(
            image[..., c], coords, output=out[..., c], order=1, mode="nearest", prefilter=False
        )
    if fill is not None:
        out[(x <= -1.0) | (x >= w) | (y <= -1.0) | (y >= h)] = fill  # edge pixels extend by 1 px
    return out


def paste_back(values: np.ndarray, crop: Crop, height: int, width: int) -> np.ndarray:
    """Map a (size, size) crop-space map (e.g. the person mask) back onto the image.

    Returns
    -------
    (height, width) float32, zero outside the crop.
    """
    out = np.zeros((height, width), dtype=np.float32)
    corners = crop.to_image(
        np.array(
            [[0, 0], [crop.size, 0], [0, crop.size], [crop.size, crop.size]], dtype=np.float64
        )
    )
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
    x1 = min(int(np.ceil(corners[:, 0].max())), width)
    y1 = min(int(np.ceil(corners[:, 1].max())), height)
    if x1 <= x0 or y1 <= y0:
        return out
    ys, xs = np.mgrid[y0:y1, x0:x1]
    uv = crop.to_crop(np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)) - 0.5
    vals = bilinear(values[..., None].astype(np.float32), uv[:, 0], uv[:, 1], 0.0)[:, 0]
    out[y0:y1, x0:x1] = vals.reshape(y1 - y0, x1 - x0)
    return out


def window_centres(length: int, side: float) -> list[float]:
    """Centres of windows of ``side`` covering [0, length] with half-window overlap."""
    if length <= side:
        return [length / 2.0]
    count = int(np.ceil((length - side) / (side / 2.0))) + 1
    return list(np.linspace(side / 2.0, length - side / 2.0, count))


def box_crop(person_box: np.ndarray, size: int) -> Crop:
    """Square crop (unrotated) around a user-given (4,) x0, y0, x1, y1 box, 25 % larger."""
    box = np.asarray(person_box, dtype=np.float64).ravel()
    if box.size != 4 or not np.all(np.isfinite(box)) or box[2] <= box[0] or box[3] <= box[1]:
        raise ValueError(f"person_box must be x0, y0, x1, y1 with x1 > x0, y1 > y0; got {box}")
    centre = 0.5 * (box[:2] + box[2:])
    return Crop(centre, 1.25 * float(np.max(box[2:] - box[:2])), 0.0, size)


def person_box_from(xy: np.ndarray, conf: np.ndarray, h: int, w: int) -> np.ndarray:
    """(4,) box around the confident landmarks, 10 % margin, clipped to the image."""
    pts = xy[conf >= 0.5] if np.count_nonzero(conf >= 0.5) >= 2 else xy
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    margin = 0.1 * (hi - lo) + 2.0
    lo, hi = np.maximum(lo - margin, 0.0), np.minimum(hi + margin, [w, h])
    return np.array([lo[0], lo[1], hi[0], hi[1]])


def refine_from_heatmaps(
    landmarks: np.ndarray,
    heatmaps: np.ndarray,
    kernel: int = 7,
    min_confidence: float = 0.5,
    size: int = 256,
) -> np.ndarray:
    """Move landmarks to the heatmap-weighted mean position around them (as MediaPipe does).

    Parameters
    ----------
    landmarks : (39, 5) x, y in crop pixels (0..256), z, visibility, presence.
    heatmaps : (64, 64, 39) heatmap logits, one channel per landmark.
    kernel : window side in heatmap cells.
    min_confidence : windows whose peak probability is below this leave the landmark alone.
    size : crop side in pixels.

    Returns
    -------
    (39, 5) refined copy.
    """
    out = np.array(landmarks, dtype=np.float64)
    n = heatmaps.shape[0]
    cell = size / n
    half = kernel // 2
    for k in range(min(out.shape[0], heatmaps.shape[2])):
        if not np.all(np.isfinite(out[k, :2])):
            continue
        col, row = int(np.rint(out[k, 0] / cell)), int(np.rint(out[k, 1] / cell))
        r0, r1 = max(row - half, 0), min(row + half + 1, n)
        c0, c1 = max(col - half, 0), min(col + half + 1, n)
        if r0 >= r1 or c0 >= c1:
            continue
        conf = 1.0 / (1.0 + np.exp(-np.clip(heatmaps[r0:r1, c0:c1, k], -60.0, 60.0)))
        total = conf.sum()
        if conf.max() < min_confidence or total <= 0:
            continue
        rows, cols = np.mgrid[r0:r1, c0:c1]
        out[k, 0] = (cols * conf).sum() / total * cell  # cell k is centred on k * cell
        out[k, 1] = (rows * conf).sum() / total * cell
    return out

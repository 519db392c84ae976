"""Alignment of a face to the standard 5-point template (the ArcFace 112x112 layout, which SFace,
OpenCV's FaceRecognizerSF.alignCrop and MobileFaceNet's insightface training crops use): a similarity transform (rotation, uniform scale,
translation; no shear, so the face is not distorted) fitted by least squares (Umeyama)."""

from __future__ import annotations

import cv2
import numpy as np

# Eye on the image's left, eye on the image's right, nose tip, mouth corners; 112x112 crop.
TEMPLATE_112 = np.array([
    [38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
    [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 matrix of the least-squares similarity mapping src points onto dst (Umeyama 1991)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rot = u @ sign @ vt
    var_s = (s0 ** 2).sum() / len(src)
    scale = float(np.trace(np.diag(sig) @ sign) / var_s) if var_s > 0 else 1.0
    m = np.zeros((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def template(size_px: int = 112, margin: float = 0.0) -> np.ndarray:
    """The 5 template points in a ``size_px`` crop that shows ``margin`` more of the head on each
    side than the ArcFace crop (0.25: the crop spans 1.5 times the ArcFace crop's width)."""
    return ((TEMPLATE_112 - 56.0) / (1.0 + 2.0 * margin) + 56.0) * (size_px / 112.0)


def align(image: np.ndarray, landmarks: np.ndarray, size_px: int = 112, margin: float = 0.0) -> np.ndarray:
    """The face warped onto the template, ``size_px`` square, BGR uint8."""
    matrix = similarity_transform(landmarks, template(size_px, margin))
    return cv2.warpAffine(image, matrix, (size_px, size_px), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)

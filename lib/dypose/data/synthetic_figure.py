"""Articulated stick-and-blob people for the synthetic dataset.

A figure is posed in a body frame (x to the person's left, which is the image's
right for a person facing the camera; y down; lengths in units of the person's
height), turned in-plane, scaled and placed in the image. It is drawn back to front
into the colour image and into a part-label map; a keypoint is visible (v=2) when the
label under it is one of its own parts, occluded (v=1) when something else covers it
or it faces away from the camera, and unlabelled (0, 0, 0) outside the image.

Left limbs are drawn in warm colours and right limbs in cool ones, so that a mirrored
person is told apart from an unmirrored one, as flip augmentation needs.
"""

import math
from typing import Dict, List, Tuple

import cv2
import numpy as np

# Sub-pixel drawing: coordinates carry this many fractional bits (cv2 "shift").
SHIFT_BITS = 4
_ONE = 1 << SHIFT_BITS
# Parts of a figure; a label-map value is person * PARTS_PER_PERSON + part + 1.
PARTS = (
    "torso", "head", "nose", "l_eye", "r_eye", "l_ear", "r_ear",
    "l_upper_arm", "l_forearm", "r_upper_arm", "r_forearm",
    "l_thigh", "l_shin", "r_thigh", "r_shin",
)  # fmt: skip
PART = {name: i for i, name in enumerate(PARTS)}
PARTS_PER_PERSON = 16
# The parts that count as "this keypoint is seen" (COCO keypoint order).
KEYPOINT_PARTS = (
    ("nose", "head"), ("l_eye", "head"), ("r_eye", "head"), ("l_ear",), ("r_ear",),
    ("torso", "l_upper_arm"), ("torso", "r_upper_arm"),
    ("l_upper_arm", "l_forearm"), ("r_upper_arm", "r_forearm"), ("l_forearm",), ("r_forearm",),
    ("torso", "l_thigh"), ("torso", "r_thigh"), ("l_thigh", "l_shin"), ("r_thigh", "r_shin"),
    ("l_shin",), ("r_shin",),
)  # fmt: skip
# Body proportions in units of the person's height (adult-like).
PROPORTIONS = {
    "torso": 0.30, "neck": 0.085, "head_radius": 0.062, "shoulder": 0.115, "hip": 0.08,
    "upper_arm": 0.17, "forearm": 0.15, "thigh": 0.245, "shin": 0.245,
}  # fmt: skip
# Limb thickness in units of the person's height.
THICKNESS = {"upper_arm": 0.05, "forearm": 0.04, "thigh": 0.07, "shin": 0.055, "neck": 0.04}
# Limb colours (RGB): warm for the left side, cool for the right side.
LIMB_COLORS = {
    "l_upper_arm": (220, 50, 40), "l_forearm": (250, 160, 30),
    "l_thigh": (190, 40, 150), "l_shin": (250, 120, 180),
    "r_upper_arm": (40, 80, 220), "r_forearm": (40, 210, 230),
    "r_thigh": (30, 140, 60), "r_shin": (130, 230, 110),
    "l_ear": (250, 90, 60), "r_ear": (60, 120, 250),
    "l_eye": (200, 0, 0), "r_eye": (0, 0, 200),
}  # fmt: skip
# Joint markers: radius in units of the person's height, colour by side.
MARKER_SIZE = 0.02
MARKER_COLORS = {"l": (255, 235, 0), "r": (250, 250, 250)}
# Face features: radius as a fraction of the head radius; nose colour.
EYE_SIZE, EAR_SIZE = 0.22, 0.33
NOSE_COLOR = (120, 60, 60)
# Face points turned further than this (cosine of the turn) count as facing away.
FACING_DEPTH = 0.15
SKIN_TONES = ((241, 194, 160), (224, 172, 105), (198, 134, 66), (141, 85, 36), (255, 219, 172))
# Head points: azimuth on the head (0 = front, + towards the person's left), radius factor.
_FACE_POINTS = {"nose": (0.0, 1.15), "l_eye": (32.0, 0.95), "r_eye": (-32.0, 0.95),
                "l_ear": (75.0, 1.0), "r_ear": (-75.0, 1.0)}  # fmt: skip


def _unit(angle_deg: float) -> np.ndarray:
    """Direction at `angle_deg` from straight down, positive towards +x."""
    a = math.radians(angle_deg)
    return np.array([math.sin(a), math.cos(a)])


def sample_pose(rng: np.random.Generator) -> Dict:
    """Random joint angles (degrees), yaws and proportions of one person."""
    jitter = {k: v * rng.uniform(0.9, 1.1) for k, v in PROPORTIONS.items()}
    pose = {"size": jitter, "yaw": rng.uniform(-55, 55), "head_yaw": rng.uniform(-35, 35)}
    pose["lean"] = rng.normal(0, 8)
    pose["head_tilt"] = rng.normal(0, 12)
    for side in ("l", "r"):
        raised = rng.random() < 0.3
        pose[f"{side}_shoulder"] = rng.uniform(90, 175) if raised else rng.uniform(-30, 70)
        pose[f"{side}_elbow"] = rng.uniform(-20, 140) * (1 if rng.random() < 0.7 else -1)
        pose[f"{side}_hip"] = rng.uniform(-20, 45)
        pose[f"{side}_knee"] = rng.uniform(-15, 80) * (1 if rng.random() < 0.5 else -1)
        pose[f"{side}_thigh_foreshorten"] = 1.0 if rng.random() < 0.8 else rng.uniform(0.5, 1.0)
        pose[f"{side}_arm_behind"] = rng.random() < 0.15
    return pose


def pose_joints(pose: Dict) -> Tuple[np.ndarray, np.ndarray]:
    """Keypoints (17, 2) in the body frame (pelvis at 0) and their depths (17,) (+: nearer)."""
    size, yaw = pose["size"], math.radians(pose["yaw"])
    points, depth = np.zeros((17, 2)), np.zeros(17)
    lean = _unit(pose["lean"] + 180.0)
    across = np.array([-lean[1], lean[0]])
    neck = lean * size["torso"]
    for sign, (sh, hp) in ((1, (5, 11)), (-1, (6, 12))):
        points[sh] = neck + across * sign * size["shoulder"] * math.cos(yaw) - lean * 0.02
        points[hp] = across * sign * size["hip"] * math.cos(yaw)
        depth[[sh, hp]] = -sign * math.sin(yaw)
    for side, sign, (sh, el, wr) in (("l", 1, (5, 7, 9)), ("r", -1, (6, 8, 10))):
        up = _unit(pose["lean"] + sign * pose[f"{side}_shoulder"])
        points[el] = points[sh] + up * size["upper_arm"]
        fore = _unit(pose["lean"] + sign * (pose[f"{side}_shoulder"] + pose[f"{side}_elbow"]))
        points[wr] = points[el] + fore * size["forearm"]
        depth[[el, wr]] = depth[sh] + (-0.5 if pose[f"{side}_arm_behind"] else 0.5)
    for side, sign, (hp, kn, an) in (("l", 1, (11, 13, 15)), ("r", -1, (12, 14, 16))):
        thigh = _unit(sign * pose[f"{side}_hip"]) * pose[f"{side}_thigh_foreshorten"]
        points[kn] = points[hp] + thigh * size["thigh"]
        shin = _unit(sign * (pose[f"{side}_hip"] + pose[f"{side}_knee"]))
        points[an] = points[kn] + shin * size["shin"]
        depth[[kn, an]] = depth[hp]
    head = neck + _unit(pose["lean"] + pose["head_tilt"] + 180.0) * size["neck"]
    head_across = np.array([-_unit(pose["lean"] + pose["head_tilt"] + 180.0)[1],
                            _unit(pose["lean"] + pose["head_tilt"] + 180.0)[0]])  # fmt: skip
    for index, name in enumerate(("nose", "l_eye", "r_eye", "l_ear", "r_ear")):
        azimuth, radius = _FACE_POINTS[name]
        turn = math.radians(azimuth - pose["head_yaw"] - pose["yaw"] * 0.5)
        r = size["head_radius"] * radius
        points[index] = head + head_across * r * math.sin(turn)
        depth[index] = math.cos(turn)
    points[1:3] -= _unit(pose["lean"] + pose["head_tilt"]) * size["head_radius"] * 0.25
    pose["_head"], pose["_neck"] = head, neck
    return points, depth


def _pt(p) -> Tuple[int, int]:
    return int(round(p[0] * _ONE)), int(round(p[1] * _ONE))


def _jitter_color(rng, color, amount=25) -> Tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in color)


class FigurePainter:
    """Draws one posed person into an image and a label map (back to front)."""

    def __init__(self, image: np.ndarray, labels: np.ndarray, person: int, rng):
        self.image, self.labels, self.rng = image, labels, rng
        self.base = person * PARTS_PER_PERSON + 1
        self.skin = _jitter_color(rng, SKIN_TONES[rng.integers(len(SKIN_TONES))], 10)
        clothes = rng.integers(40, 216, 3)
        self.torso_color = tuple(int(v) for v in (clothes * 0.6 + 128 * 0.4))
        self.colors = {k: _jitter_color(rng, v) for k, v in LIMB_COLORS.items()}

    def limb(self, part: str, a, b, thickness: int, color=None) -> None:
        color = self.colors[part] if color is None else color
        dark = tuple(int(c * 0.55) for c in color)
        pa, pb = _pt(a), _pt(b)
        cv2.line(self.image, pa, pb, dark, thickness + 2, cv2.LINE_AA, SHIFT_BITS)
        cv2.line(self.image, pa, pb, color, thickness, cv2.LINE_AA, SHIFT_BITS)
        cv2.line(self.labels, pa, pb, self.base + PART[part], thickness + 2, cv2.LINE_8, SHIFT_BITS)

    def polygon(self, part: str, points, color) -> None:
        pts = np.array([_pt(p) for p in points], dtype=np.int32)
        cv2.fillConvexPoly(self.image, pts, color, cv2.LINE_AA, SHIFT_BITS)
        cv2.polylines(self.image, [pts], True, tuple(int(c * 0.6) for c in color), 1,
                      cv2.LINE_AA, SHIFT_BITS)  # fmt: skip
        cv2.fillConvexPoly(self.labels, pts, self.base + PART[part], cv2.LINE_8, SHIFT_BITS)

    def disc(self, part: str, center, radius: float, color) -> None:
        r = max(1, int(round(radius * _ONE)))
        cv2.circle(self.image, _pt(center), r, color, -1, cv2.LINE_AA, SHIFT_BITS)
        cv2.circle(self.labels, _pt(center), r, self.base + PART[part], -1, cv2.LINE_8, SHIFT_BITS)


def _marker(painter: FigurePainter, part: str, point, side: str, height: float) -> None:
    """A joint marker (as on a motion-capture suit): yellow left, white right."""
    radius = MARKER_SIZE * height
    painter.disc(part, point, radius + 1.0, (30, 30, 30))
    painter.disc(part, point, radius, MARKER_COLORS[side])


def _chain(painter, side: str, parts, points, thickness, height: float) -> None:
    """Two limb segments (upper, lower) and the markers at their middle and end joints."""
    painter.limb(f"{side}_{parts[0]}", points[0], points[1], thickness[0])
    painter.limb(f"{side}_{parts[1]}", points[1], points[2], thickness[1])
    for point in points[1:]:
        _marker(painter, f"{side}_{parts[1]}", point, side, height)


def draw_figure(painter: FigurePainter, pose: Dict, joints: np.ndarray, depth, height: float):
    """Draws the posed figure (joints in image pixels, `height` the person's px height)."""

    def thick(name):
        return max(2, int(round(THICKNESS[name] * height)))

    head = pose["_head_img"]
    head_r = pose["size"]["head_radius"] * height
    arm_thickness, leg_thickness = (
        (thick("upper_arm"), thick("forearm")),
        (thick("thigh"), thick("shin")),
    )
    arms = (("l", (5, 7, 9)), ("r", (6, 8, 10)))
    legs = sorted((("l", (11, 13, 15)), ("r", (12, 14, 16))), key=lambda leg: depth[leg[1][1]])
    for index, part in ((3, "l_ear"), (4, "r_ear")):  # a far-side ear goes behind the head
        if depth[index] <= 0:
            painter.disc(part, joints[index], head_r * EAR_SIZE, painter.colors[part])
    for side, ids in arms:
        if pose[f"{side}_arm_behind"]:
            _chain(
                painter, side, ("upper_arm", "forearm"), joints[list(ids)], arm_thickness, height
            )
    for side, ids in legs:
        _chain(painter, side, ("thigh", "shin"), joints[list(ids)], leg_thickness, height)

    shoulders_mid = (joints[5] + joints[6]) * 0.5
    grow = (joints[[5, 6, 12, 11]] - shoulders_mid) * 0.12
    painter.polygon("torso", joints[[5, 6, 12, 11]] + grow, painter.torso_color)
    for index, side in ((11, "l"), (12, "r"), (5, "l"), (6, "r")):
        _marker(painter, "torso", joints[index], side, height)
    painter.limb("head", pose["_neck_img"], head, thick("neck"), painter.skin)
    painter.disc("head", head, head_r, painter.skin)
    for index, part in ((0, "nose"), (1, "l_eye"), (2, "r_eye"), (3, "l_ear"), (4, "r_ear")):
        if depth[index] > FACING_DEPTH:
            radius = head_r * (EAR_SIZE if part.endswith("ear") else EYE_SIZE)
            color = NOSE_COLOR if part == "nose" else painter.colors[part]
            painter.disc(part, joints[index], radius, color)
    for side, ids in arms:
        if not pose[f"{side}_arm_behind"]:
            _chain(
                painter, side, ("upper_arm", "forearm"), joints[list(ids)], arm_thickness, height
            )


def place_figure(pose: Dict, body_points: np.ndarray, center, height: float, angle: float):
    """Body frame -> image pixels: scale by `height`, turn by `angle` degrees, move to `center`."""
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    pelvis_offset = np.array([0.0, -0.02])

    def to_image(p):
        return (np.asarray(p) + pelvis_offset) @ rot.T * height + center

    pose["_head_img"] = to_image(pose["_head"])
    pose["_neck_img"] = to_image(pose["_neck"])
    return to_image(body_points)


def figure_extent(joints: np.ndarray, pose: Dict, height: float) -> np.ndarray:
    """Amodal box (x1, y1, x2, y2) of a drawn figure: joints and head plus limb margins."""
    head_r = pose["size"]["head_radius"] * height
    margin = THICKNESS["thigh"] * height * 0.5 + 1.0
    points = np.vstack([joints, pose["_head_img"][None]])
    low = np.minimum(points.min(axis=0) - margin, pose["_head_img"] - head_r - 1)
    high = np.maximum(points.max(axis=0) + margin, pose["_head_img"] + head_r + 1)
    return np.concatenate([low, high])


def visibility(labels: np.ndarray, joints: np.ndarray, depth: np.ndarray, person: int) -> List:
    """COCO keypoints [x, y, v] * 17 of one person, read off the final label map."""
    height, width = labels.shape
    base = person * PARTS_PER_PERSON + 1
    keypoints = []
    for index, (x, y) in enumerate(joints):
        col, row = int(math.floor(x + 0.5)), int(math.floor(y + 0.5))
        if not (0 <= col < width and 0 <= row < height):
            keypoints.extend([0.0, 0.0, 0])
            continue
        own = {base + PART[name] for name in KEYPOINT_PARTS[index]}
        seen = labels[row, col] in own and (index > 4 or depth[index] > FACING_DEPTH)
        keypoints.extend([round(float(x), 2), round(float(y), 2), 2 if seen else 1])
    return keypoints

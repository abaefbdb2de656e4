"""DyPose: COCO human-keypoint detection with Dynamic ReLU MobileNets."""

__version__ = "0.1.0"

"""Drawing keypoints, training debug grids, training curves and DY-ReLU inspection."""

from dypose.visualization.debug import save_debug_images
from dypose.visualization.draw import draw_keypoints, write_image
from dypose.visualization.plots import plot_training_curves, read_metrics

__all__ = [
    "draw_keypoints",
    "plot_training_curves",
    "read_metrics",
    "save_debug_images",
    "write_image",
]

"""Default configuration: every key DyPose reads, with its unit and reason.

Key names follow HRNet's pose codebase where HRNet has the key (MODEL.NUM_JOINTS,
TEST.FLIP_TEST, ...), so that experiment files read the same; the code behind them
speaks DyPose's glossary (keypoints, num_keypoints).
"""

from yacs.config import CfgNode as CN

_C = CN()

# Folder for checkpoints, results files, the frozen config and metrics
# (OUTPUT_DIR/<dataset>/<experiment name>/).
_C.OUTPUT_DIR = "output"
# Folder for TensorBoard event files (LOG_DIR/<dataset>/<experiment name>/).
_C.LOG_DIR = "log"
# "auto" picks CUDA when available, else the CPU; "cpu" or "cuda" force one.
_C.DEVICE = "auto"
# DataLoader worker processes per rank; 0 loads in the main process.
_C.WORKERS = 4
# Log one training line (and debug images) every PRINT_FREQ iterations.
_C.PRINT_FREQ = 100
# Continue from OUTPUT_DIR/.../checkpoint.pth when it exists.
_C.AUTO_RESUME = True
# Pin host memory for faster host-to-GPU copies (ignored on the CPU).
_C.PIN_MEMORY = True
# Seed for weights, augmentation and DataLoader workers (each worker derives its own).
_C.SEED = 0

# cuDNN switches (CUDA only).
_C.CUDNN = CN()
# Let cuDNN pick the fastest kernels for fixed input sizes.
_C.CUDNN.BENCHMARK = True
# Force deterministic kernels (slower; for exact reproduction).
_C.CUDNN.DETERMINISTIC = False
# Use cuDNN at all.
_C.CUDNN.ENABLED = True

# ---------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------
_C.MODEL = CN()
# Network family; "pose_mobilenet" is the backbone + upsampling head of the paper.
_C.MODEL.NAME = "pose_mobilenet"
# Keypoints per person (K heatmaps); 17 for COCO.
_C.MODEL.NUM_JOINTS = 17
# Network input [W, H] in pixels; the paper uses 192x256.
_C.MODEL.IMAGE_SIZE = [192, 256]
# Heatmap size [W, H]; stride 4 from the input.
_C.MODEL.HEATMAP_SIZE = [48, 64]
# Gaussian sigma of the target heatmaps, in heatmap pixels.
_C.MODEL.SIGMA = 2.0
# Target kind; only "gaussian" is implemented.
_C.MODEL.TARGET_TYPE = "gaussian"
# Local torchvision ImageNet checkpoint for the static backbone ("" trains from scratch,
# as the paper does). Classifier keys are dropped; every other key must match.
_C.MODEL.PRETRAINED = ""
# Compile the network in place with torch.compile (minutes of warm-up). Measured on the CPU:
# inference 2.5x faster; DY-ReLU training slower than eager (benchmarks/bench_models.py).
_C.MODEL.COMPILE = False

_C.MODEL.BACKBONE = CN()
# "mobilenetv2", "mobilenetv3_large" or "mobilenetv3_small".
_C.MODEL.BACKBONE.NAME = "mobilenetv2"
# Width multiplier (torchvision's rounding to multiples of 8; the paper uses 1.0 and 0.5
# for MobileNetV2 and 1.0 for MobileNetV3).
_C.MODEL.BACKBONE.WIDTH = 1.0

# Backbone activation. KIND: "static" (the network's own: ReLU6 in MobileNetV2,
# ReLU/h-swish/SE in MobileNetV3) or "dyrelu_a", "dyrelu_b", "dyrelu_c".
_C.MODEL.BACKBONE.ACTIVATION = CN()
_C.MODEL.BACKBONE.ACTIVATION.KIND = "static"
# Number of linear pieces K of each DY-ReLU (the paper: 2).
_C.MODEL.BACKBONE.ACTIVATION.K = 2
# Reduction R of the hyper function's first FC; 0 takes the paper's value for the
# backbone (8 for MobileNetV2, 4 for MobileNetV3).
_C.MODEL.BACKBONE.ACTIVATION.R = 0
# Add a K=1 DY-ReLU after every projection conv (section 5.1; Table 10's counts need it).
_C.MODEL.BACKBONE.ACTIVATION.PROJECTION_DYRELU = True

_C.MODEL.HEAD = CN()
# Output channels of head steps 1, 4-5 and 7 (DESIGN.md, Architecture).
_C.MODEL.HEAD.CHANNELS = [192, 96, 16]
# Expansion ratio of the head's inverted residual blocks.
_C.MODEL.HEAD.EXPANSION = 6
# Head activation; same keys as the backbone's. R = 0 takes the paper's 16.
_C.MODEL.HEAD.ACTIVATION = CN()
_C.MODEL.HEAD.ACTIVATION.KIND = "static"
_C.MODEL.HEAD.ACTIVATION.K = 2
_C.MODEL.HEAD.ACTIVATION.R = 0
_C.MODEL.HEAD.ACTIVATION.PROJECTION_DYRELU = True

# DY-ReLU hyper-parameters shared by backbone and head (paper Eq. (3) and (4)).
_C.MODEL.DYRELU = CN()
# Range of the slope residual, lambda_a in Eq. (3).
_C.MODEL.DYRELU.LAMBDA_A = 1.0
# Range of the intercept residual, lambda_b in Eq. (3).
_C.MODEL.DYRELU.LAMBDA_B = 0.5
# Initial slopes alpha^k; a DY-ReLU with K pieces uses the first K (ReLU at init).
_C.MODEL.DYRELU.INIT_ALPHA = [1.0, 0.0]
# Initial intercepts beta^k; a DY-ReLU with K pieces uses the first K.
_C.MODEL.DYRELU.INIT_BETA = [0.0, 0.0]
# Softmax temperature tau of the spatial attention, Eq. (4).
_C.MODEL.DYRELU.TAU = 10.0
# gamma = H*W / GAMMA_DIVISOR in Eq. (4): the mean attention is 1/GAMMA_DIVISOR.
_C.MODEL.DYRELU.GAMMA_DIVISOR = 3.0

# ---------------------------------------------------------------------------
# Loss
# ---------------------------------------------------------------------------
_C.LOSS = CN()
# Weight each keypoint's heatmap MSE by its target weight (0 for unlabelled keypoints).
_C.LOSS.USE_TARGET_WEIGHT = True
# Online hard keypoint mining: average only the TOPK largest per-keypoint losses.
_C.LOSS.USE_OHKM = False
# Keypoints kept per person by OHKM.
_C.LOSS.TOPK = 8

# ---------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------
_C.DATASET = CN()
# COCO-format root: annotations/person_keypoints_<set>.json and images/<set>/.
_C.DATASET.ROOT = "data/coco"
# Dataset family; "coco" covers COCO and any COCO-format person-keypoint set.
_C.DATASET.DATASET = "coco"
# Image set trained on.
_C.DATASET.TRAIN_SET = "train2017"
# Image set evaluated on.
_C.DATASET.TEST_SET = "val2017"
# Left/right keypoint index pairs swapped by flipping; empty uses COCO's (K = 17 only).
_C.DATASET.FLIP_PAIRS = []
# Per-keypoint OKS sigmas for evaluation; empty uses COCO's 17 (K = 17 only).
_C.DATASET.OKS_SIGMAS = []
# Per-keypoint loss weights; empty weights every keypoint 1.
_C.DATASET.KEYPOINT_WEIGHTS = []
# Indices of upper-body keypoints for half-body augmentation; empty uses COCO's 0-10.
_C.DATASET.UPPER_BODY_IDS = []
# Random horizontal flip with probability 0.5 (training only).
_C.DATASET.FLIP = True
# Random scale: scale x clip(1 + SCALE_FACTOR N(0,1), 1 - SF, 1 + SF); 0 disables.
_C.DATASET.SCALE_FACTOR = 0.35
# Random rotation: ROT_FACTOR N(0,1) degrees clipped to +-2 ROT_FACTOR; 0 disables.
_C.DATASET.ROT_FACTOR = 45.0
# Probability that a sample is rotated at all (HRNet's 0.6).
_C.DATASET.PROB_ROTATION = 0.6
# Half-body augmentation applies when more than this many keypoints are labelled.
_C.DATASET.NUM_JOINTS_HALF_BODY = 8
# Probability of half-body augmentation; 0 disables.
_C.DATASET.PROB_HALF_BODY = 0.3
# Feed RGB (True) or BGR images to the network; ImageNet statistics are RGB.
_C.DATASET.COLOR_RGB = True
# Decode JPEGs at 1/2 or 1/4 size when the crop shrinks them at least that much
# (faster; slightly smoother crops than HRNet's full decode). False decodes at full size.
_C.DATASET.REDUCED_DECODE = True

# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------
_C.TRAIN = CN()
# Learning-rate drop factor at each epoch in LR_STEP.
_C.TRAIN.LR_FACTOR = 0.1
# Epochs at whose start the learning rate is multiplied by LR_FACTOR.
_C.TRAIN.LR_STEP = [170, 200]
# Initial learning rate.
_C.TRAIN.LR = 0.001
# "adam" (the paper's) or "sgd".
_C.TRAIN.OPTIMIZER = "adam"
# SGD momentum (ignored by Adam).
_C.TRAIN.MOMENTUM = 0.9
# L2 weight decay; the paper's recipe uses none.
_C.TRAIN.WD = 0.0
# Nesterov momentum for SGD.
_C.TRAIN.NESTEROV = False
# First epoch (0 for a new run; resume overrides it from the checkpoint).
_C.TRAIN.BEGIN_EPOCH = 0
# Train until this epoch (exclusive).
_C.TRAIN.END_EPOCH = 210
# Images per GPU (or per CPU process) per iteration.
_C.TRAIN.BATCH_SIZE_PER_GPU = 32
# Shuffle the training set each epoch.
_C.TRAIN.SHUFFLE = True
# Evaluate every EVAL_INTERVAL epochs (and after the last); 0 evaluates only at the end.
_C.TRAIN.EVAL_INTERVAL = 1
# Mixed precision (CUDA only; ignored with a warning on the CPU).
_C.TRAIN.AMP = False

# ---------------------------------------------------------------------------
# Testing
# ---------------------------------------------------------------------------
_C.TEST = CN()
# Images per GPU (or per CPU process) at evaluation.
_C.TEST.BATCH_SIZE_PER_GPU = 32
# Average the heatmaps of the crop and its mirror image.
_C.TEST.FLIP_TEST = True
# Quarter-pixel step from the peak toward the higher neighbour.
_C.TEST.POST_PROCESS = True
# Shift the flipped-back heatmaps one column right (HRNet's alignment of the mirror).
_C.TEST.SHIFT_HEATMAP = True
# Evaluate on ground-truth boxes (True) or the detector boxes in COCO_BBOX_FILE.
_C.TEST.USE_GT_BBOX = True
# OKS threshold of the per-image OKS-NMS.
_C.TEST.OKS_THRE = 0.9
# Keypoints whose peak is above this count towards the person's rescoring.
_C.TEST.IN_VIS_THRE = 0.2
# COCO detection-results json with person boxes (used when USE_GT_BBOX is False).
_C.TEST.COCO_BBOX_FILE = ""
# Minimum detector score of a person box.
_C.TEST.IMAGE_THRE = 0.0
# Checkpoint evaluated by tools/test.py.
_C.TEST.MODEL_FILE = ""
# Rescore each person by box score x mean visible keypoint peak.
_C.TEST.RESCORE = True
# Apply OKS-NMS per image.
_C.TEST.NMS = True
# Soft OKS-NMS (Gaussian decay of overlapping scores) instead of hard suppression.
_C.TEST.SOFT_NMS = False
# COCOeval backend: "pycocotools" or "faster_coco_eval" (optional package).
_C.TEST.COCOEVAL_BACKEND = "pycocotools"
# Run evaluation forward passes under autocast (CUDA only; float16 can move AP slightly).
_C.TEST.AMP = False

# ---------------------------------------------------------------------------
# Debug output while training
# ---------------------------------------------------------------------------
_C.DEBUG = CN()
# Master switch for the image dumps below.
_C.DEBUG.DEBUG = False
# Grid of input crops with ground-truth keypoints.
_C.DEBUG.SAVE_BATCH_IMAGES_GT = False
# Grid of input crops with predicted keypoints.
_C.DEBUG.SAVE_BATCH_IMAGES_PRED = False
# Ground-truth heatmaps over the crops.
_C.DEBUG.SAVE_HEATMAPS_GT = False
# Predicted heatmaps over the crops.
_C.DEBUG.SAVE_HEATMAPS_PRED = False


def get_defaults() -> CN:
    """Returns a fresh, mutable copy of the defaults."""
    return _C.clone()

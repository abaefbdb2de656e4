"""Installs the `dypose` package from lib/ (``pip install -e .``)."""

from setuptools import find_packages, setup

# torch and torchvision carry ranges only: the exact pins for a platform live in the
# README's commands and .ci/run, so that DyPose installs beside other torch builds.
INSTALL_REQUIRES = [
    "torch>=2.1",
    "torchvision>=0.16",
    "numpy>=1.24",
    "opencv-python-headless>=4.8",
    "pycocotools>=2.0.6",
    "yacs>=0.1.8",
    "json_tricks>=3.17",
    "tqdm>=4.60",
    "tensorboard>=2.12",
    "matplotlib>=3.7",
]

EXTRAS_REQUIRE = {
    "dev": ["pytest>=7.4", "ruff>=0.5"],
    "fast-eval": ["faster-coco-eval>=1.6", "orjson>=3.8"],
}

setup(
    name="dypose",
    version="0.1.0",
    description="COCO human-keypoint detection with Dynamic ReLU MobileNets",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.9",
    package_dir={"": "lib"},
    packages=find_packages("lib"),
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
)

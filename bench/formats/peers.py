"""The Python peers of bench/formats/run.ts: pydicom and OpenSlide, timed inside one interpreter.

Run by run.ts with Debian's python3 (python3-pydicom, python3-openslide, python3-pil); it reads a
JSON request on stdin and writes one JSON object on stdout. Interpreter start and imports are not
timed; each timed pass reads its files from disk (the page cache) like the Node side does.

  {"mode": "dicom-probe", "files": [...]}
      per file: frames, the sum of every decoded sample (to compare decoders), or the error; for
      YBR JPEG files also the sum after libjpeg's own YCbCr to RGB conversion (`rgbSum`), since
      pydicom 2.x's Pillow handler leaves YBR samples unconverted
  {"mode": "dicom", "files": [...], "repeat": R}
      seconds to dcmread + pixel_array every file R times, and to dcmread alone
  {"mode": "openslide", "path": ..., "tiles": [[level, x, y], ...], "warmup": [[...], ...]}
      the levels OpenSlide sees, and seconds to read_region each tile (one tile, decoded)
"""

import json
import sys
import time


def dicom_probe(files):
    import pydicom

    results = []
    for path in files:
        try:
            ds = pydicom.dcmread(path)
            pixels = ds.pixel_array
            frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
            result = {"file": path, "frames": frames, "sum": int(pixels.sum(dtype="int64"))}
            rgb_sum = libjpeg_rgb_sum(ds, frames)
            if rgb_sum is not None:
                result["rgbSum"] = rgb_sum
            results.append(result)
        except Exception as error:  # noqa: BLE001 - a probe reports what any file does
            results.append({"file": path, "error": f"{type(error).__name__}: {error}"})
    return {"pydicom": pydicom.__version__, "results": results}


JPEG_LOSSY = ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51")


def libjpeg_rgb_sum(ds, frames):
    """The sum of a YBR JPEG file's samples as Pillow's libjpeg converts them to RGB, else None."""
    import numpy
    from io import BytesIO
    from PIL import Image
    from pydicom.encaps import generate_pixel_data_frame

    photometric = str(getattr(ds, "PhotometricInterpretation", ""))
    if ds.file_meta.TransferSyntaxUID not in JPEG_LOSSY or not photometric.startswith("YBR"):
        return None
    total = 0
    for frame in generate_pixel_data_frame(ds.PixelData, frames):
        total += int(numpy.asarray(Image.open(BytesIO(frame)).convert("RGB")).sum(dtype="int64"))
    return total


def dicom_timed(files, repeat):
    import pydicom

    started = time.perf_counter()
    for _ in range(repeat):
        for path in files:
            pydicom.dcmread(path).pixel_array
    decode_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(repeat):
        for path in files:
            pydicom.dcmread(path)
    parse_seconds = time.perf_counter() - started
    return {"decodeSeconds": decode_seconds, "parseSeconds": parse_seconds}


def openslide_timed(path, tiles, warmup):
    import openslide

    slide = openslide.OpenSlide(path)
    try:
        levels = []
        for level in range(slide.level_count):
            width, height = slide.level_dimensions[level]
            levels.append(
                {
                    "width": width,
                    "height": height,
                    "downsample": slide.level_downsamples[level],
                    "tileWidth": int(slide.properties.get(f"openslide.level[{level}].tile-width", 0)),
                    "tileHeight": int(slide.properties.get(f"openslide.level[{level}].tile-height", 0)),
                }
            )

        def read(batch):
            for level, x, y in batch:
                info = levels[level]
                scale = info["downsample"]
                left = round(x * info["tileWidth"] * scale)
                top = round(y * info["tileHeight"] * scale)
                slide.read_region((left, top), level, (info["tileWidth"], info["tileHeight"]))

        read(warmup)
        started = time.perf_counter()
        read(tiles)
        seconds = time.perf_counter() - started
        return {"openslide": openslide.__library_version__, "levels": levels, "seconds": seconds}
    finally:
        slide.close()


def main():
    request = json.load(sys.stdin)
    mode = request["mode"]
    if mode == "dicom-probe":
        result = dicom_probe(request["files"])
    elif mode == "dicom":
        result = dicom_timed(request["files"], request["repeat"])
    elif mode == "openslide":
        result = openslide_timed(request["path"], request["tiles"], request["warmup"])
    else:
        raise SystemExit(f"unknown mode {mode}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()

"""Vision benchmark: what preparing an image costs a reply, in one run.

    .venv/bin/python benchmarks/vision.py [--runs N]

`prepare_image` (decode, first frame, scale to 1568 px, re-encode under 1.5 MB) runs on a
worker thread while the reply waits, so its time is added to the model request of a turn with
an image. Measured here on generated pictures of typical sizes (a smooth gradient with noise,
so JPEG has real work): a 1024x768 PNG screenshot, a 4032x3024 JPEG phone photo, a 3200x1600
PNG (scaled down), and the base64 data URL built from the result. Prints p50/p95 per case in
ms and, last, one JSON line.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time

from PIL import Image

from clanker.vision.encode import ImageLimits, prepare_image
from clanker.vision.load import data_url


def picture(width: int, height: int, fmt: str) -> bytes:
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 40)
    image = Image.merge(
        "RGB", (gradient, noise, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    )
    out = io.BytesIO()
    image.save(out, format=fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    cases = {
        "png_1024x768": picture(1024, 768, "PNG"),
        "jpeg_4032x3024": picture(4032, 3024, "JPEG"),
        "png_3200x1600": picture(3200, 1600, "PNG"),
    }
    limits = ImageLimits()
    result: dict[str, object] = {}
    for name, data in cases.items():
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            prepared = prepare_image(data, limits)
            data_url(prepared)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p50 = statistics.median(times)
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(
            f"{name}: {len(data):,} B in -> {prepared.width}x{prepared.height} "
            f"{prepared.media_type} {len(prepared.data):,} B out; "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"
        )
        result[f"{name}_p50_ms"] = round(p50, 1)
        result[f"{name}_out_bytes"] = len(prepared.data)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""`labeldesk media …`: look at media files from the command line."""

from __future__ import annotations

import argparse

from labeldesk.app.commands.common import console, out, print_json
from labeldesk.media.images import write_png
from labeldesk.media.probe import probe
from labeldesk.media.video import VideoReader


def cmd_probe(args: argparse.Namespace) -> None:
    info = probe(args.file)
    if args.json:
        print_json(info.to_dict())
        return
    out.print(f"[bold]{info.path}[/bold]: {info.kind}, {info.format}, {info.duration or 0:.3f} s, {info.size:,} bytes")
    if info.audio:
        a = info.audio
        out.print(f"  audio: {a.codec}, {a.sample_rate} Hz, {a.channels} channel(s)")
    if info.video:
        v = info.video
        fps = f"{v.avg_fps:.3f} fps" if v.avg_fps else "unknown fps"
        vfr = ", variable frame rate" if v.variable_frame_rate else ""
        out.print(f"  video: {v.codec}, {v.width}x{v.height}, {fps}{vfr}, rotation {v.rotation}°")


def cmd_frame(args: argparse.Namespace) -> None:
    """The exact frame shown at a time: the one whose timestamp interval covers it."""
    with VideoReader(args.video) as reader:
        frame = reader.frame_at(args.at)
        write_png(frame.rgb, args.out)
    result = {"frame": frame.index, "pts": frame.pts, "out": args.out}
    if args.json:
        print_json(result)
    else:
        console.print(f"frame {frame.index} (pts {frame.pts:.6f} s) written to {args.out}")

"""The full recipe's data: COCO captions (stage 1) and LLaVA-Instruct-150K conversations (stage 2).

Neither is downloaded here: both parsers read files the learner has fetched, and
say where to fetch them when they are missing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import validate


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not {what}: not valid JSON ({err})") from err

def coco_captions(annotation_file: str | Path, *, first_only: bool = True) -> dict[str, str]:
    """Image file name -> caption from COCO's ``captions_train2017.json``.

    ``first_only``: keep each image's first caption (the seed trains on one of five).

    Raises:
        TypeError: ``annotation_file`` is not a path.
        FileNotFoundError: no file there (the message says where to download it).
        ValueError: the file is not valid JSON, or not a COCO caption file (the message names the file).
    """
    validate.instance(annotation_file, "annotation_file", (str, Path), "a path (str or Path)")
    path = Path(annotation_file)
    if not path.is_file():
        raise FileNotFoundError(f"no COCO caption file at {path}; download annotations_trainval2017.zip "
                                "from images.cocodataset.org and unzip it")
    data = _read_json(path, "a COCO caption file")
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise ValueError(f"{path} is not a COCO caption file (expected 'images' and 'annotations')")
    try:
        names = {im["id"]: im["file_name"] for im in data["images"]}
        out: dict[str, str] = {}
        for ann in data["annotations"]:
            name = names[ann["image_id"]]
            if first_only and name in out:
                continue
            out[name] = out.get(name, "") + ("\n" if name in out else "") + ann["caption"].strip()
    except (KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"{path} is not a COCO caption file: an image needs 'id' and 'file_name', an annotation "
                         f"'image_id' (of a listed image) and a 'caption' string ({type(err).__name__}: {err})") from err
    return out


def llava_instruct_records(json_file: str | Path) -> list[dict]:
    """Split LLaVA-Instruct-150K conversations into ``{"image", "qn", "ans"}`` records.

    Each human turn and the gpt turn after it make one record; the ``<image>``
    marker is removed (the image tokens are placed by the model, not the text).

    Raises:
        TypeError: ``json_file`` is not a path.
        FileNotFoundError: no file there (the message says where to download it).
        ValueError: the file is not valid JSON, or not LLaVA-Instruct conversations (the message names the file).
    """
    validate.instance(json_file, "json_file", (str, Path), "a path (str or Path)")
    path = Path(json_file)
    if not path.is_file():
        raise FileNotFoundError(f"no LLaVA-Instruct file at {path}; download llava_instruct_150k.json "
                                "from huggingface.co/datasets/liuhaotian/LLaVA-Instruct-150K")
    items = _read_json(path, "a LLaVA-Instruct file")
    if not isinstance(items, list):
        raise ValueError(f"{path} is not a LLaVA-Instruct file: expected a JSON list of conversations, "
                         f"got a {type(items).__name__}")
    out = []
    try:
        for item in items:
            turns = item["conversations"]
            for h, g in zip(turns[0::2], turns[1::2]):
                if h["from"] != "human" or g["from"] != "gpt":
                    raise ValueError(f"{path}: unexpected turn order in {item.get('id')}: {h['from']}, {g['from']}")
                qn = h["value"].replace("<image>", "").strip()
                out.append({"image": item["image"], "qn": qn, "ans": g["value"].strip()})
    except (KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"{path} is not a LLaVA-Instruct file: each item needs 'image' and 'conversations' of "
                         f"{{'from', 'value'}} turns ({type(err).__name__}: {err})") from err
    return out


__all__ = ["coco_captions", "llava_instruct_records"]

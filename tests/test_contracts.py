"""Every public function of course_utils states its input contract, and a test shows it enforced.

The rule (README, "Bad input"): a public function checks what it receives and raises a
clear error that says what was expected. This file holds the rule for the whole package:

1. **Discovery.** Every public function, class and method defined in ``course_utils`` (not
   re-exports, not properties, not the CLIs' argparse internals) that takes an argument.
2. **The contract is written down.** Its docstring (for a class, the class docstring, which
   covers the constructor) has a ``Raises:`` section naming each error it raises for bad input.
3. **The contract is enforced.** ``tests/contracts/*.py`` hold at least one bad-input case per
   callable: a call, the error, and words its message must hold. Each case must raise the
   error, and the error must be one its docstring names.

A new public function without a docstring contract or without a case fails here, with the
names listed. Functions that take no argument have no input to check and are not listed.

Two named exceptions:

* ``RESULTS``: records the package builds and returns (a receptive-field row, a training
  run's result); a learner reads them and never builds one. ``validate.describe`` takes any value.
* ``NOT_YET_AUDITED``: what issue #26 has still to cover (the classification runs, the
  plotting and widget helpers, most of ``vlm``). The test requires this list to be exact, so
  it can only shrink: covering a name without removing it here fails too.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator

import pytest

import course_utils
from contracts import ALL_CASES, Case

RAISES = re.compile(r"^Raises:\s*$", re.M)
ERROR_LINE = re.compile(r"^\s+([A-Z]\w*(?:Error|Exit|Exception|Warning)\w*)(?:\s*,\s*([A-Z]\w*))?\s*:", re.M)


def _modules() -> Iterator[object]:
    for info in pkgutil.walk_packages(course_utils.__path__, "course_utils."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        yield importlib.import_module(info.name)


def _takes_input(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name not in ("self", "cls") for p in params)


def public_callables() -> dict[str, Callable]:
    """``qualified name -> function or class`` for every public callable that takes input."""
    found: dict[str, Callable] = {}
    for module in _modules():
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj) and _takes_input(obj):
                found[f"{module.__name__}.{name}"] = obj
            elif inspect.isclass(obj):
                if _takes_input(obj) and not issubclass(obj, BaseException):
                    found[f"{module.__name__}.{name}"] = obj
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or isinstance(member, property):
                        continue
                    fn = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
                    fn = inspect.unwrap(fn) if callable(fn) else fn
                    if inspect.isfunction(fn) and _takes_input(fn):
                        found[f"{module.__name__}.{name}.{attr}"] = fn
    return found


def _key(target: Callable) -> Callable:
    fn = getattr(target, "__func__", target)
    return inspect.unwrap(fn) if inspect.isfunction(fn) else fn


def documented_errors(obj: Callable) -> set[str]:
    """The error names in a docstring's ``Raises:`` section (empty when it has none)."""
    doc = inspect.getdoc(obj) or ""
    match = RAISES.search(doc)
    if not match:
        return set()
    section = doc[match.end():]
    end = re.search(r"^\S", section, re.M)  # the next unindented line ends the section
    section = section[: end.start()] if end else section
    return {name for pair in ERROR_LINE.findall(section) for name in pair if name}


RESULTS = frozenset({
    "receptive_field.RFRow", "receptive_field.RFTable", "classification.run.CifarFastRun", "detection.run.DetectorRun",
    "detection.yolo.YoloTargets", "vlm.run.VLMRun", "runtime.RuntimeInfo", "runtime.Chapter", "runtime.Timer",
    "runtime.Precision", "validate.describe",
})

NOT_YET_AUDITED = frozenset({
    "plotting.grouped_bars",
    "plotting.plot_confusion_matrix",
    "plotting.plot_history",
    "plotting.show_attributions",
    "plotting.show_channels",
    "plotting.show_detections",
    "plotting.show_feature_maps",
    "plotting.show_heatmaps",
    "plotting.show_images",
    "plotting.show_matrices",
    "plotting.show_matrix",
    "plotting.to_display",
    "vlm.app.ChatApp",
    "vlm.app.ask",
    "vlm.app.load_image",
    "vlm.audio.SphinxTranscriber",
    "vlm.audio.read_wav",
    "vlm.audio.synthesise",
    "vlm.audio.whisper_transcriber",
    "vlm.audio.write_wav",
    "vlm.batches.answer_length",
    "vlm.batches.bucket_batches",
    "vlm.batches.caption_features",
    "vlm.batches.collate",
    "vlm.batches.encode_pieces",
    "vlm.batches.qa_features",
    "vlm.config.VLMConfig",
    "vlm.config.VLMConfig.tiny_random",
    "vlm.config.full_recipe_config",
    "vlm.config.tiny_config",
    "vlm.dataset.QARecord",
    "vlm.dataset.caption",
    "vlm.dataset.hard_negative_caption",
    "vlm.dataset.has_held_out",
    "vlm.dataset.image_tensor",
    "vlm.dataset.object_phrase",
    "vlm.dataset.qa_records",
    "vlm.dataset.questions",
    "vlm.dataset.text_corpus",
    "vlm.dataset.vlm_scenes",
    "vlm.evaluate.answer_all",
    "vlm.evaluate.answer_from_captions",
    "vlm.evaluate.attribute_accuracy",
    "vlm.evaluate.caption_scores",
    "vlm.evaluate.exact_match",
    "vlm.evaluate.exact_match_by_objects",
    "vlm.evaluate.majority_answers",
    "vlm.evaluate.normalise",
    "vlm.full_data.coco_captions",
    "vlm.full_data.llava_instruct_records",
    "vlm.grounding.grounding_loss",
    "vlm.grounding.patch_phrase_targets",
    "vlm.language_model.add_lora",
    "vlm.language_model.bnb_config",
    "vlm.language_model.build_lm",
    "vlm.language_model.label_loss",
    "vlm.language_model.lora_config",
    "vlm.language_model.pretrained_dtype",
    "vlm.language_model.trainable_parameters",
    "vlm.model.VisionLanguageModel",
    "vlm.model.VisionLanguageModel.assemble",
    "vlm.model.VisionLanguageModel.embed_tokens",
    "vlm.model.VisionLanguageModel.forward",
    "vlm.model.VisionLanguageModel.generate",
    "vlm.model.VisionLanguageModel.image_tokens",
    "vlm.model.VisionLanguageModel.prompt_embeddings",
    "vlm.oracle.oracle_layout",
    "vlm.oracle.oracle_patch_features",
    "vlm.patches.overlapped_patches",
    "vlm.probe.linear_probe",
    "vlm.probe.own_object_patches",
    "vlm.probe.patch_probe",
    "vlm.projector.Projector",
    "vlm.projector.Projector.forward",
    "vlm.recipe.VLMRecipe",
    "vlm.recipe.stage2_records",
    "vlm.run.run_vlm",
    "vlm.tokenizer.load_pretrained_tokenizer",
    "vlm.tokenizer.train_tokenizer",
    "vlm.train.optimiser_step",
    "vlm.train.pretrain_lm",
    "vlm.train.train_clip",
    "vlm.train.train_instruction",
    "vlm.train.train_projection",
    "vlm.vision.ConvStem",
    "vlm.vision.ConvStem.forward",
    "vlm.vision.build_clip",
    "vlm.vision.build_vision_tower",
    "vlm.vision.clip_loss",
    "vlm.vision.encode_images",
    "vlm.vision.patch_features",
    "vlm.vision.pooled_embeddings",
    "vlm.vision.preprocess",
    "vlm.vision.retrieval_accuracy",
    "vlm.vision.rows_padded_to_longest",
})

API = public_callables()
EXEMPT = {f"course_utils.{name}" for name in RESULTS | NOT_YET_AUDITED}
CASES_BY_TARGET: dict[Callable, list[Case]] = {}
for _case in ALL_CASES:
    CASES_BY_TARGET.setdefault(_key(_case.target), []).append(_case)


def test_discovery_finds_the_package():
    assert "course_utils.detection.boxes.box_iou" in API
    assert "course_utils.data.dataset.ImageDataset.select" in API
    assert "course_utils.recipe.Recipe.for_profile" in API
    assert not any(name.endswith("._check_boxes") for name in API)  # private helpers are not listed


def test_the_docstring_parser():
    def f(x):
        """Do a thing.

        Raises:
            TypeError: ``x`` is not a tensor.
            ValueError, IndexError: the shape is wrong.

        Returns:
            nothing; ``KeyError: no`` here is not in the section.
        """

    assert documented_errors(f) == {"TypeError", "ValueError", "IndexError"}
    assert documented_errors(lambda: None) == set()


def test_every_public_callable_documents_its_contract():
    missing = sorted(name for name, obj in API.items() if not documented_errors(obj) and name not in EXEMPT)
    assert not missing, f"{len(missing)} public callables have no 'Raises:' section: {missing}"


def test_every_public_callable_has_a_bad_input_case():
    missing = sorted(name for name, obj in API.items() if _key(obj) not in CASES_BY_TARGET and name not in EXEMPT)
    assert not missing, f"{len(missing)} public callables have no case in tests/contracts: {missing}"


def test_the_not_yet_audited_list_is_exact():
    """It names only public callables still lacking a contract or a case: it can only shrink."""
    names = {f"course_utils.{name}" for name in NOT_YET_AUDITED}
    unknown = sorted(names - set(API))
    done = sorted(n for n in names & set(API) if documented_errors(API[n]) and _key(API[n]) in CASES_BY_TARGET)
    assert not unknown, f"NOT_YET_AUDITED names callables that do not exist (renamed?): {unknown}"
    assert not done, f"these now have a contract and a case: remove them from NOT_YET_AUDITED: {done}"


def test_every_case_targets_a_public_callable():
    known = {_key(obj) for obj in API.values()}
    strays = [case.what for case in ALL_CASES if _key(case.target) not in known]
    assert not strays, f"cases for callables that are not public or take no input: {strays}"


@pytest.mark.parametrize("case", ALL_CASES, ids=[c.what for c in ALL_CASES])
def test_bad_input_raises_the_documented_error(case: Case, tmp_path, monkeypatch):
    documented = documented_errors(case.target)
    assert case.error.__name__ in documented, (
        f"{case.what}: raises {case.error.__name__}, but the docstring's Raises: names {sorted(documented)}")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(case.error, match=case.match):
        case.call()

"""Bad-input cases: the multimodal LLM (course_utils.vlm).

What a learner gets wrong here is mostly the kind of thing: a lone string where a list of
captions or question types is meant (read letter by letter), float images in 0..255 (read as
white), float audio (written as silence), a number as a question, records of one split scored
against another's scenes. The model, tokenizer and scenes are built once, on first use.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from course_utils.vlm import app, audio, batches, config, dataset, evaluate, full_data, grounding, language_model
from course_utils.vlm import oracle, patches, probe, projector, recipe, run, tokenizer, train, vision
from course_utils.vlm.model import VisionLanguageModel

from . import Case

CFG = config.tiny_config(d_lm=16, lm_layers=1, lm_heads=2, lm_intermediate=32, d_vision=16, vision_layers=1,
                         vision_heads=2, text_width=16, text_layers=1, clip_embed_dim=16)


@functools.cache
def _scenes():
    return dataset.vlm_scenes("train", 4)


@functools.cache
def _tok():
    return tokenizer.train_tokenizer(dataset.text_corpus(_scenes(), CFG.eoi, CFG.eoq), 300)


@functools.cache
def _vlm():
    torch.manual_seed(0)
    return VisionLanguageModel(CFG, _tok(), language_model.build_lm(CFG, _tok()), vision=vision.build_vision_tower(CFG))


@functools.cache
def _clip():
    return vision.build_clip(CFG, _tok())


def _records():
    return dataset.qa_records(_scenes())


def _features(n=4):
    return torch.zeros(n, CFG.n_patches, CFG.d_vision)


def _batch():
    return batches.collate(_tok(), batches.qa_features(_tok(), [("what shape is it?", "circle")], CFG.eoq))


IMAGE = torch.zeros(3, 48, 48, dtype=torch.uint8)
FEATURE = {"input_ids": [5, 6, 7], "prompt_len": 1}

CASES = [
    # app
    Case("a path where the upload's bytes are meant", app.load_image, lambda: app.load_image("photo.png"), TypeError,
         r"data must be the uploaded file's bytes, got str \(open the file"),
    Case("a truncated PNG upload", app.load_image, lambda: app.load_image(_png()[:60]), ValueError,
         "damaged or truncated"),
    Case("a number as a question", app.ask, lambda: app.ask(_vlm(), IMAGE, 5), TypeError,
         "question must be a str or None, got int"),
    Case("a float image in 0..255", app.ask, lambda: app.ask(_vlm(), IMAGE.float(), "what shape?"), ValueError,
         r"image must be a uint8 Tensor\[3, H, W\]"),
    Case("a model that is not a VLM", app.ask, lambda: app.ask(torch.nn.Linear(2, 2), IMAGE, "what?"), TypeError,
         "vlm must be VisionLanguageModel"),
    Case("float scenes for the chat app", app.ChatApp, lambda: app.ChatApp(_vlm(), torch.rand(2, 3, 48, 48)),
         ValueError, r"images must be a non-empty uint8 Tensor\[N, 3, H, W\]"),
    # audio
    Case("a number to speak", audio.synthesise, lambda: audio.synthesise(5), TypeError, "text must be str, got int"),
    Case("an impossible speaking rate", audio.synthesise, lambda: audio.synthesise("hello", words_per_minute=2000),
         ValueError, r"words_per_minute must lie in \[80, 450\]"),
    Case("float audio to write", audio.write_wav, lambda: audio.write_wav("q.wav", np.zeros(1600)), ValueError,
         "scale float audio in"),
    Case("stereo audio to write", audio.write_wav, lambda: audio.write_wav("q.wav", np.zeros((2, 10), np.int16)),
         ValueError, r"audio must be mono int16 ndarray\[T\]"),
    Case("a list as audio", audio.write_wav, lambda: audio.write_wav("q.wav", [0, 1, 2]), TypeError,
         "audio must be a NumPy array"),
    Case("a WAV that is not there", audio.read_wav, lambda: audio.read_wav("missing.wav"), FileNotFoundError,
         "no WAV file at missing.wav"),
    Case("an array to read as WAV", audio.read_wav, lambda: audio.read_wav(np.zeros(4)), TypeError,
         "source must be a WAV file's path or its bytes"),
    Case("a grammar that is not text", audio.SphinxTranscriber, lambda: audio.SphinxTranscriber(grammar=5),
         TypeError, "grammar must be a JSGF grammar"),
    Case("a model that is not a Hub id", audio.whisper_transcriber, lambda: audio.whisper_transcriber(model=None),
         TypeError, "model must be a Hub id"),
    # batches
    Case("a lone string as pieces", batches.encode_pieces, lambda: batches.encode_pieces(_tok(), "what shape"),
         TypeError, r"pieces must be a list of str, got str \(wrap it"),
    Case("a list as the tokenizer", batches.encode_pieces, lambda: batches.encode_pieces([1, 2], ["a"]), TypeError,
         "tokenizer must be a transformers tokenizer"),
    Case("answers that are not strings", batches.qa_features,
         lambda: batches.qa_features(_tok(), [("how many?", 2)], CFG.eoq), TypeError,
         r"record_qas must hold \(question, answer\) pairs of str"),
    Case("an empty question", batches.qa_features, lambda: batches.qa_features(_tok(), [(" ", "two")], CFG.eoq),
         ValueError, "empty question"),
    Case("one caption as a string", batches.caption_features, lambda: batches.caption_features(_tok(), "a circle"),
         TypeError, "captions must be a list of str"),
    Case("an empty batch", batches.collate, lambda: batches.collate(_tok(), []), ValueError, "empty batch"),
    Case("a prompt longer than its ids", batches.collate,
         lambda: batches.collate(_tok(), [{"input_ids": [1, 2], "prompt_len": 3}]), ValueError,
         r"features\[0\]\['prompt_len'\] must lie in \[0, 2\]"),
    Case("a feature without ids", batches.answer_length, lambda: batches.answer_length({"prompt_len": 0}),
         ValueError, "feature must be a dict with 'input_ids' and 'prompt_len'"),
    Case("a bucket that is not (lo, hi, size)", batches.bucket_batches,
         lambda: batches.bucket_batches([FEATURE], [(1, 5)]), ValueError, r"each bucket must be \(shortest, longest"),
    Case("an answer that fits no bucket", batches.bucket_batches,
         lambda: batches.bucket_batches([FEATURE], [(5, 9, 2)]), ValueError, "answer of 2 tokens fits no bucket"),
    # config
    Case("a float width", config.VLMConfig, lambda: config.VLMConfig(d_lm=128.0), TypeError,
         "VLMConfig.d_lm must be int, got 128.0"),
    Case("patches that do not tile the image", config.VLMConfig, lambda: config.VLMConfig(image_size=50),
         ValueError, r"image_size \(50\) must be a multiple of patch_size \(16\)"),
    Case("a width the heads do not divide", config.VLMConfig, lambda: config.VLMConfig(d_lm=130), ValueError,
         r"d_lm \(130\) must be divisible by its 4 attention heads"),
    Case("a lone string as LoRA targets", config.VLMConfig, lambda: config.VLMConfig(lora_targets="q_proj"),
         TypeError, "lora_targets must be"),
    Case("a typo in a tiny_random override", config.VLMConfig.tiny_random,
         lambda: config.full_recipe_config().tiny_random(lm_layer=1), TypeError, r"has no field\(s\) \['lm_layer'\]"),
    Case("a typo in a tiny_config override", config.tiny_config, lambda: config.tiny_config(dlm=64), TypeError,
         r"VLMConfig has no field\(s\) \['dlm'\]"),
    Case("a LoRA dropout of one", config.full_recipe_config, lambda: config.full_recipe_config(lora_dropout=1.0),
         ValueError, r"lora_dropout must lie in \[0, 1\)"),
    # dataset
    Case("a record of an unknown type", dataset.QARecord, lambda: dataset.QARecord(0, "colour?", "q?", "red"),
         ValueError, "QARecord.qtype must be one of"),
    Case("a float scene index", dataset.QARecord, lambda: dataset.QARecord(1.0, "count", "how many?", "two"),
         TypeError, "QARecord.index must be int"),
    Case("a caption of a tensor", dataset.caption, lambda: dataset.caption(IMAGE), TypeError,
         "scene must be a data.shapes.Scene"),
    Case("a seed where the rng is meant", dataset.hard_negative_caption,
         lambda: dataset.hard_negative_caption(_scenes()[0], 0), TypeError, "rng must be a random.Random"),
    Case("questions about a list of scenes", dataset.questions, lambda: dataset.questions(_scenes()), TypeError,
         r"scene must be a data.shapes.Scene \(see vlm_scenes\), got list"),
    Case("held-out check of an image", dataset.has_held_out, lambda: dataset.has_held_out(IMAGE), TypeError,
         "scene must be a data.shapes.Scene"),
    Case("an object without a position", dataset.object_phrase,
         lambda: dataset.object_phrase({"size": "large", "colour": "red", "shape": "circle"}), ValueError,
         r"lacks \['position'\]"),
    Case("a lone question type", dataset.qa_records, lambda: dataset.qa_records(_scenes(), "count"), TypeError,
         r"types must be a list of str, got str \(wrap it: \['count'\]\)"),
    Case("one scene for a list", dataset.qa_records, lambda: dataset.qa_records(_scenes()[0]), TypeError,
         "scenes must be a list of Scene"),
    Case("an empty end-of-question marker", dataset.text_corpus, lambda: dataset.text_corpus(_scenes(), CFG.eoi, ""),
         ValueError, "eoq must be a non-empty marker string"),
    Case("a fractional scene count", dataset.vlm_scenes, lambda: dataset.vlm_scenes("train", 2.5), TypeError,
         "n must be an int"),
    Case("no scenes to stack", dataset.image_tensor, lambda: dataset.image_tensor([]), ValueError,
         "scenes must hold at least one Scene"),
    # evaluate
    Case("records of another split", evaluate.answer_all,
         lambda: evaluate.answer_all(_vlm(), _features(1), _records()), ValueError,
         "a record refers to image 3 of only 1 feature rows"),
    Case("answers that are not strings", evaluate.exact_match,
         lambda: evaluate.exact_match([None] * len(_records()), _records()), TypeError,
         "predictions must be a list of str, got NoneType at index 0"),
    Case("more predictions than records", evaluate.exact_match,
         lambda: evaluate.exact_match(["two", "red"], _records()[:1]), ValueError, "2 predictions for 1 records"),
    Case("scenes of another split", evaluate.exact_match_by_objects,
         lambda: evaluate.exact_match_by_objects(["x"] * len(_records()), _records(), _scenes()[:1]), ValueError,
         "of only 1 scenes"),
    Case("a tokenizer where the LM is meant", evaluate.answer_from_captions,
         lambda: evaluate.answer_from_captions(_tok(), _tok(), _scenes(), _records(), CFG.eoi, CFG.eoq), TypeError,
         "lm must be a causal LM"),
    Case("strings as training records", evaluate.majority_answers,
         lambda: evaluate.majority_answers(["two"], _records()), TypeError, "train must be a list of QARecord"),
    Case("a caption about a scene's image", evaluate.attribute_accuracy,
         lambda: evaluate.attribute_accuracy("a red circle", IMAGE), TypeError, "scene must be a data.shapes.Scene"),
    Case("a number to normalise", evaluate.normalise, lambda: evaluate.normalise(3), TypeError,
         "text must be str, got int"),
    Case("fewer feature rows than scenes", evaluate.caption_scores,
         lambda: evaluate.caption_scores(_vlm(), _features(2), _scenes()), ValueError,
         "features must have one row per scene: 2 rows, 4 scenes"),
    # full_data
    Case("a COCO file as a number", full_data.coco_captions, lambda: full_data.coco_captions(2017), TypeError,
         "annotation_file must be a path"),
    Case("a missing LLaVA file", full_data.llava_instruct_records,
         lambda: full_data.llava_instruct_records("llava_instruct_150k.json"), FileNotFoundError,
         "no LLaVA-Instruct file at llava_instruct_150k.json"),
    # grounding
    Case("a zero grid", grounding.patch_phrase_targets, lambda: grounding.patch_phrase_targets(_scenes(), 0),
         ValueError, "grid must be a positive int, got 0"),
    Case("float phrase targets", grounding.grounding_loss,
         lambda: grounding.grounding_loss(None, torch.zeros(2, 10, 16), torch.zeros(2, 9),
                                          torch.zeros(3, 4, dtype=torch.long), torch.ones(3, 4)), ValueError,
         "targets must be a 2-dimensional Tensor of integers"),
    Case("targets for another patch count", grounding.grounding_loss,
         lambda: grounding.grounding_loss(None, torch.zeros(2, 10, 16), torch.zeros(2, 4, dtype=torch.long),
                                          torch.zeros(3, 4, dtype=torch.long), torch.ones(3, 4)), ValueError,
         r"targets \[B, P\]"),
    # language_model
    Case("a recipe where the config is meant", language_model.build_lm,
         lambda: language_model.build_lm(recipe.VLMRecipe(), _tok()), TypeError, "cfg must be VLMConfig"),
    Case("a tiny LM without a pad token", language_model.build_lm,
         lambda: language_model.build_lm(CFG, _NoPad()), ValueError, "needs a tokenizer with an eos_token and a pad"),
    Case("a string as the compute dtype", language_model.bnb_config, lambda: language_model.bnb_config("bf16"),
         TypeError, "compute_dtype must be dtype"),
    Case("an 8-bit compute dtype", language_model.bnb_config, lambda: language_model.bnb_config(torch.int8),
         ValueError, "compute_dtype must be one of"),
    Case("a dict as the LoRA config", language_model.lora_config, lambda: language_model.lora_config({"lora_r": 8}),
         TypeError, "cfg must be VLMConfig"),
    Case("LoRA on a tokenizer", language_model.add_lora, lambda: language_model.add_lora(_tok(), CFG), TypeError,
         "lm must be a causal LM"),
    Case("an unknown device's dtype", language_model.pretrained_dtype,
         lambda: language_model.pretrained_dtype("tpu"), ValueError, "device"),
    Case("parameters of a tensor", language_model.trainable_parameters,
         lambda: language_model.trainable_parameters(torch.zeros(3)), TypeError, "model must be Module"),
    Case("float labels", language_model.label_loss,
         lambda: language_model.label_loss(None, torch.zeros(1, 4, 16), torch.ones(1, 4), torch.zeros(1, 4)),
         ValueError, "labels must be a 2-dimensional Tensor of integers"),
    # model
    Case("a projector of other widths", VisionLanguageModel,
         lambda: VisionLanguageModel(CFG, _tok(), language_model.build_lm(CFG, _tok()), projector.Projector(8, 16)),
         ValueError, "projector maps 8 -> 16, but cfg needs 16 -> 16"),
    Case("a config dict", VisionLanguageModel, lambda: VisionLanguageModel({}, _tok(), torch.nn.Linear(1, 1)),
         TypeError, "cfg must be VLMConfig"),
    Case("float token ids", VisionLanguageModel.embed_tokens, lambda: _vlm().embed_tokens(torch.zeros(1, 3)),
         ValueError, "ids must be a Tensor of integers"),
    Case("an id past the vocabulary", VisionLanguageModel.embed_tokens,
         lambda: _vlm().embed_tokens(torch.tensor([[1, 10_000]])), ValueError, r"ids must lie in \[0, 300\)"),
    Case("features of another width", VisionLanguageModel.image_tokens,
         lambda: _vlm().image_tokens(torch.zeros(1, 9, 8)), ValueError, r"Tensor\[B, N, 16\]"),
    Case("a mask of another length", VisionLanguageModel.assemble,
         lambda: _vlm().assemble(None, torch.zeros(2, 5, dtype=torch.long), torch.ones(2, 4)), ValueError,
         r"input_ids and attention_mask Tensor\[B, T\]"),
    Case("features for another batch", VisionLanguageModel.assemble,
         lambda: _vlm().assemble(_features(3), torch.zeros(2, 5, dtype=torch.long), torch.ones(2, 5)), ValueError,
         r"features must be Tensor\[2, N, 16\]"),
    Case("a batch without labels", VisionLanguageModel.forward,
         lambda: _vlm()(None, {k: v for k, v in _batch().items() if k != "labels"}), ValueError,
         r"batch lacks \['labels'\]"),
    Case("one question as a string", VisionLanguageModel.generate, lambda: _vlm().generate(None, "what shape?"),
         TypeError, "questions must be a list of str"),
    Case("a number as a question", VisionLanguageModel.generate, lambda: _vlm().generate(None, [7]), TypeError,
         "each question must be a str or None, got 7"),
    Case("zero new tokens", VisionLanguageModel.generate, lambda: _vlm().generate(None, ["what?"], max_new_tokens=0),
         ValueError, "max_new_tokens must be a positive int"),
    Case("more images than questions", VisionLanguageModel.prompt_embeddings,
         lambda: _vlm().prompt_embeddings(_features(2), ["what shape?"]), ValueError, "2 images but 1 questions"),
    # oracle, patches, probe, projector
    Case("a fractional patch count", oracle.oracle_layout, lambda: oracle.oracle_layout(9.0), TypeError,
         "n_patches must be a positive int"),
    Case("oracle features too narrow", oracle.oracle_patch_features,
         lambda: oracle.oracle_patch_features(_scenes(), 3, 8), ValueError, "width >= 24"),
    Case("an inverted box", patches.overlapped_patches, lambda: patches.overlapped_patches((30, 0, 10, 20), 48, 3),
         ValueError, "box must be xyxy with x0 <= x1"),
    Case("a NaN box", patches.overlapped_patches,
         lambda: patches.overlapped_patches((0, 0, float("nan"), 20), 48, 3), ValueError, "box must be xyxy"),
    Case("float probe labels", probe.linear_probe,
         lambda: probe.linear_probe(torch.randn(4, 2), torch.tensor([0.0, 1.0, 0.0, 1.0]), torch.randn(1, 2), 2),
         ValueError, "y_train must be a Tensor of integers"),
    Case("an unknown attribute", probe.own_object_patches, lambda: probe.own_object_patches(_scenes(), 3, "size"),
         ValueError, "attribute must be one of"),
    Case("features for another grid", probe.patch_probe,
         lambda: probe.patch_probe(_features(), _scenes(), _features(), _scenes(), "colour", 2), ValueError,
         r"expected features \[4, 4, D\]"),
    Case("a float projector width", projector.Projector, lambda: projector.Projector(768, 2560.0), TypeError,
         "d_lm must be a positive int"),
    Case("features of another width", projector.Projector.forward,
         lambda: projector.Projector(768, 64)(torch.zeros(1, 49, 512)), ValueError, r"Tensor\[B, N, 768\]"),
    # recipe, run, tokenizer
    Case("an unknown stage-2 tuning", recipe.VLMRecipe, lambda: recipe.VLMRecipe(stage2_tuning="qlora"), ValueError,
         "stage2_tuning must be one of"),
    Case("describing every zeroth scene", recipe.stage2_records, lambda: recipe.stage2_records(_records(), 0),
         ValueError, "describe_every must be a positive int, got 0"),
    Case("a config where the recipe is meant", run.run_vlm, lambda: run.run_vlm(CFG), TypeError,
         "recipe must be a VLMRecipe, got VLMConfig"),
    Case("a dict as the config", run.run_vlm, lambda: run.run_vlm(cfg={"d_lm": 64}), TypeError,
         "cfg must be a VLMConfig"),
    Case("one text as a string", tokenizer.train_tokenizer, lambda: tokenizer.train_tokenizer("a red circle"),
         TypeError, "texts must be an iterable of str, got one str"),
    Case("a vocabulary too small for bytes", tokenizer.train_tokenizer,
         lambda: tokenizer.train_tokenizer(["a red circle"], 100), ValueError, "vocab_size must be at least 258"),
    Case("a tokenizer name that is not text", tokenizer.load_pretrained_tokenizer,
         lambda: tokenizer.load_pretrained_tokenizer(None), TypeError, "name must be a Hub id"),
    # train
    Case("a float loss list", train.optimiser_step,
         lambda: train.optimiser_step(torch.zeros(()), None, None, (), None), TypeError, "losses must be list"),
    Case("a batch of texts as one string", train.pretrain_lm,
         lambda: train.pretrain_lm(_vlm().lm, _tok(), "a red circle"), TypeError, "texts must be a list of str"),
    Case("zero epochs of pretraining", train.pretrain_lm,
         lambda: train.pretrain_lm(_vlm().lm, _tok(), ["a red circle"], epochs=0), ValueError,
         "epochs must be a positive int"),
    Case("float images for CLIP", train.train_clip,
         lambda: train.train_clip(_clip(), _tok(), torch.rand(4, 3, 48, 48), ["a"] * 4, CFG), ValueError,
         r"images must be uint8 Tensor\[N, 3, S, S\]"),
    Case("fewer captions than images for CLIP", train.train_clip,
         lambda: train.train_clip(_clip(), _tok(), torch.zeros(4, 3, 48, 48, dtype=torch.uint8), ["a"] * 3, CFG),
         ValueError, "4 images but 3 captions"),
    Case("features of another width for stage 1", train.train_projection,
         lambda: train.train_projection(_vlm(), torch.zeros(4, 9, 8), ["a"] * 4), ValueError,
         r"features must be Tensor\[N, N, 16\]"),
    Case("a negative learning rate", train.train_projection,
         lambda: train.train_projection(_vlm(), _features(), ["a"] * 4, lr=-1e-3), ValueError, "lr must lie in"),
    Case("records past the features", train.train_instruction,
         lambda: train.train_instruction(_vlm(), _features(2), [(5, "what?", "red")], buckets=recipe.STAGE2_BUCKETS),
         ValueError, r"qas must index rows 0..1 of features, got indices 5..5"),
    Case("(question, answer) pairs without the index", train.train_instruction,
         lambda: train.train_instruction(_vlm(), None, [("what?", "red")], buckets=recipe.STAGE2_BUCKETS),
         TypeError, r"qas must hold \(scene index, question, answer\) triples"),
    Case("an unknown tuning", train.train_instruction,
         lambda: train.train_instruction(_vlm(), None, [(0, "what?", "red")], buckets=recipe.STAGE2_BUCKETS,
                                         tuning="qlora"), ValueError, "tuning must be 'lora' or 'full'"),
    # vision
    Case("a patch size the stem cannot reach", vision.ConvStem, lambda: vision.ConvStem(96, 12), ValueError,
         "power-of-two patch size"),
    Case("uint8 pixels into the stem", vision.ConvStem.forward,
         lambda: vision.ConvStem(16, 16)(torch.zeros(1, 3, 48, 48, dtype=torch.uint8)), ValueError,
         r"x must be Tensor\[N, 3, N, N\] of floats"),
    Case("a name where the config is meant", vision.build_vision_tower,
         lambda: vision.build_vision_tower("openai/clip-vit-base-patch32"), TypeError, "cfg must be VLMConfig"),
    Case("CLIP without a tokenizer", vision.build_clip, lambda: vision.build_clip(CFG, None), TypeError,
         "tokenizer must be a transformers tokenizer"),
    Case("float images in 0..255", vision.preprocess,
         lambda: vision.preprocess(torch.full((1, 3, 48, 48), 200.0), CFG), ValueError,
         r"float images must lie in \[0, 1\]"),
    Case("an HWC image", vision.preprocess, lambda: vision.preprocess(torch.zeros(48, 48, 3, dtype=torch.uint8), CFG),
         ValueError, r"expected RGB images Tensor\[B, 3, H, W\]"),
    Case("uint8 pixels into the tower", vision.patch_features,
         lambda: vision.patch_features(_vlm().vision, torch.zeros(1, 3, 48, 48, dtype=torch.uint8)), ValueError,
         "pixel_values must be"),
    Case("no images to encode", vision.encode_images,
         lambda: vision.encode_images(_vlm().vision, torch.zeros(0, 3, 48, 48, dtype=torch.uint8), CFG), ValueError,
         "images is empty"),
    Case("a string as text features", vision.pooled_embeddings, lambda: vision.pooled_embeddings("text"), TypeError,
         "out must be what CLIPModel.get_text_features returns"),
    Case("negatives without their mask", vision.clip_loss,
         lambda: vision.clip_loss(None, torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3), None,
                                  torch.zeros(2, 3, dtype=torch.long)), ValueError,
         "give both negative_ids and negative_mask"),
    Case("rows past the texts", vision.rows_padded_to_longest,
         lambda: vision.rows_padded_to_longest(torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3),
                                               torch.tensor([0, 5])), ValueError, r"rows must lie in \[0, 2\)"),
    Case("fewer captions than images to retrieve", vision.retrieval_accuracy,
         lambda: vision.retrieval_accuracy(_clip(), _tok(), torch.zeros(2, 3, 48, 48, dtype=torch.uint8), ["a"], CFG),
         ValueError, "one caption per image: 2 images, 1 captions"),
]


class _NoPad:
    """A tokenizer-shaped object without a pad token."""

    eos_token_id = 0
    pad_token_id = None

    def __len__(self):
        return 300

    def __call__(self, text, **kwargs):
        return {"input_ids": [0]}


def _png() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.arange(32 * 32 * 3, dtype=np.uint8).reshape(32, 32, 3)).save(buf, format="PNG")
    return buf.getvalue()


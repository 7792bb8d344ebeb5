"""End to end on real data: trained digits models, held-out accuracy, measured densities, modelled energy."""

from __future__ import annotations

import json

import pytest
import torch

from stationary.arch.load import load_arch
from stationary.codesign.data import load_dataset
from stationary.codesign.models import build_model
from stationary.codesign.sweep import (
    Point,
    Settings,
    check_request,
    pareto_front,
    run_codesign,
    sweep,
    trained_model,
)
from stationary.codesign.train import ArrayBatches, accuracy, train
from stationary.errors import StationaryError
from tests.clirun import cli_env, run_cli


@pytest.fixture(scope="module")
def report():
    return run_codesign("mlp_digits", "digits", "eyeriss", prunes=(0.0, 0.6), bits=(16, 8))


# CPU independence (issue 17 item 9), both ways: training is deterministic single-thread float64
# (codesign/train.py), AND every accuracy bound sits well below the worst of several seeds, since training
# amplifies even float64 differences between CPUs' kernels. Held-out accuracy over seeds 0-5 (450 images,
# float64, this machine): mlp 96.4-98.7 %, lenet5 96.2-97.6 %, dwsep 94.7-96.9 %; the bound, 90 %, is 21+ test
# images below the worst seen (an Intel Xeon's float32 run of the old recipe gave dwsep 93.6 %).
FLOAT_FLOOR = 0.90


@pytest.mark.parametrize("name", ["lenet5_digits", "mlp_digits", "dwsep_digits"])
def test_float_baselines_reach_90_percent_on_held_out_digits(name):
    split = load_dataset("digits")
    acc = accuracy(trained_model(name), ArrayBatches(split.x_test, split.y_test, 256, shuffle=False))
    assert acc >= FLOAT_FLOOR


def test_training_is_float64_single_thread_deterministic_and_restores_settings():
    threads = torch.get_num_threads()
    split = load_dataset("digits")
    runs = []
    for _ in range(2):
        model = build_model("mlp_small_digits", seed=3)
        assert all(p.dtype == torch.float64 for p in model.parameters())
        train(model, ArrayBatches(split.x_train, split.y_train, 64, seed=3), 1, 1e-2, seed=3)
        runs.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(runs[0], runs[1])  # bit for bit on one machine
    assert torch.get_num_threads() == threads and not torch.are_deterministic_algorithms_enabled()


def test_split_is_seeded_and_disjoint():
    a, b = load_dataset("digits", seed=0), load_dataset("digits", seed=0)
    assert (a.x_test == b.x_test).all()
    assert len(a.x_train) + len(a.x_val) + len(a.x_test) == 1797
    with pytest.raises(StationaryError, match="unknown dataset"):
        load_dataset("imagenet")


def test_points_are_measured_and_8_bit_stays_within_a_point(report):
    by = {(p.prune, p.bits): p for p in report.points}
    assert len(by) == 4
    assert report.baseline_accuracy >= FLOAT_FLOOR
    # 8-bit post-training quantization: 0.00 points lost on seeds 0-5; 9 test images of margin
    assert abs(by[(0.0, 8)].accuracy - report.baseline_accuracy) <= 0.02
    assert by[(0.6, 16)].weight_density == pytest.approx(0.4, abs=0.01)
    assert by[(0.0, 16)].weight_density > 0.99
    for b in (16, 8):
        assert by[(0.6, b)].energy_pj < by[(0.0, b)].energy_pj
        assert by[(0.6, b)].weights_bytes < by[(0.0, b)].weights_bytes
    assert by[(0.0, 8)].energy_pj < by[(0.0, 16)].energy_pj
    assert by[(0.0, 8)].weights_bytes <= by[(0.0, 16)].weights_bytes / 2 + 1
    assert 0 < by[(0.0, 16)].activation_density < 1  # ReLU and blank pixels make zeros
    assert by[(0.0, 16)].energy_pj <= report.dense_energy_pj
    assert all(p.cycles == report.dense_cycles for p in report.points)  # gating saves no cycles


def test_pareto_front_is_exactly_the_non_dominated_points(report):
    front = set(report.pareto)
    pts = report.points
    for i, p in enumerate(pts):
        beaten = any(q.accuracy >= p.accuracy and q.energy_pj <= p.energy_pj and q != p
                     and (q.accuracy > p.accuracy or q.energy_pj < p.energy_pj) for q in pts)
        assert (i in front) == (not beaten)
    toy = [Point(0, 8, 0.9, 1, 1, 1, 10.0, 1), Point(0, 4, 0.8, 1, 1, 1, 5.0, 1), Point(0, 2, 0.7, 1, 1, 1, 6.0, 1)]
    assert pareto_front(toy) == (1, 0)


CLEAN = cli_env(clean=True)  # no user setting leaks into the process


@pytest.mark.parametrize(("args", "message"), [
    (["vgg16"], "unknown model 'vgg16'"),
    (["mlp_digits", "--dataset", "mnist"], "unknown dataset 'mnist'"),
    (["mlp_digits", "--bits", "8,17"], "1..16"),
    (["mlp_digits", "--prune", "0.5,1"], "[0, 1)"),
    (["mlp_digits", "--decompose", "svd"], "--decompose and --rank go together"),
])
def test_cli_bad_input_is_one_line_exit_2(args, message):
    r = run_cli("codesign", *args, env=CLEAN, timeout_s=300)
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"settings": {"quants": ("uniform", "lg")}}, "unknown quantizer 'lg'"),
    ({"decomposition": ("tucker", 2)}, "saves weights in no layer"),
    ({"decomposition": ("svd", 0)}, "positive integer"),
    ({"distill_from": "resnet"}, "unknown model 'resnet'"),
    ({"settings": {"quants": ("ternary",), "huffman": True}}, "not binary/ternary"),
])
def test_bad_new_requests_are_refused_before_training(kwargs, message):
    with pytest.raises(StationaryError, match=message):
        s = Settings(**kwargs.pop("settings", {}))
        check_request("mlp_digits", "digits", "eyeriss", (0.0,), (8,), s, **kwargs)


def test_cli_json_contract_and_plot(tmp_path):
    png = tmp_path / "front.png"
    r = run_cli("codesign", "mlp_small_digits", "--prune", "0.5", "--bits", "4", "--quant", "uniform,kmeans",
                "--huffman", "--json", "--plot", str(png), "--arch", "survey256", "--decompose", "svd", "--rank", "4",
                env=CLEAN, timeout_s=300)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    keys = {"prune", "bits", "accuracy", "weight_density", "activation_density", "weights_bytes", "energy_pj",
            "cycles", "quant", "variant", "compression_ratio"}
    assert len(out["points"]) == 4 and all(set(p) == keys for p in out["points"])
    assert {(p["variant"], p["quant"]) for p in out["points"]} == {
        (v, q) for v in ("base", "svd r4") for q in ("uniform", "kmeans")}
    for p in out["points"]:
        assert p["compression_ratio"] > 1 and p["weights_bytes"] > 0
    assert out["decomposition"]["layers"] == ["1"] and out["pareto"]  # the hidden FC, not the classifier
    assert all(set(p) == keys for p in out["pareto"])
    assert png.stat().st_size > 1000 and png.read_bytes()[:4] == b"\x89PNG"


def test_deep_compression_stages_shrink_and_the_energy_model_reads_them():
    split = load_dataset("digits")
    test = ArrayBatches(split.x_test, split.y_test, 256, shuffle=False)
    model = trained_model("mlp_digits")  # trained once per process (the report fixture uses it too)
    runs = {}
    for huffman in (False, True):
        batches = ArrayBatches(split.x_train, split.y_train, 64, seed=0)  # the same shuffles for both runs
        runs[huffman] = sweep(model, batches, test, test, split.input_shape, load_arch("eyeriss"), (0.9,), (4,),
                              Settings(quants=("kmeans",), huffman=huffman, kmeans_epochs=1))
    plain, huff = runs[False].points[0], runs[True].points[0]
    st = huff.stages_bytes
    assert st["dense"] == 4 * (64 * 128 + 128 * 64 + 64 * 10)  # float32 weights
    assert st["dense"] > st["pruned"] > st["shared"] > st["huffman"]  # each stage shrinks it
    assert huff.weights_bytes == st["huffman"] and plain.weights_bytes == st["shared"]
    assert huff.compression_ratio == pytest.approx(st["dense"] / st["huffman"])
    assert huff.accuracy == plain.accuracy  # Huffman coding is lossless
    assert huff.energy_pj < plain.energy_pj  # fewer DRAM bits per weight
    assert all(row["decode_energy_pj"] > 0 for row in huff.layers)  # the codebook lookups are costed

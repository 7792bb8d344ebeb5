"""The HTML report's fused-layers section: present with its picture, carrying the numbers of the JSON "fusion"."""

from __future__ import annotations

from pathlib import Path

from stationary.fusion.report import fusion_json
from stationary.fusion.search import plan_fusion
from stationary.mapper.network import map_network
from stationary.report.html import evaluation_html
from stationary.report.metrics import benchmark_report
from tests.clirun import run_cli_json
from tests.fusion.test_attention import attention_net
from tests.fusion.test_search import OPTS, arch


def test_section_has_the_picture_and_the_json_numbers() -> None:
    net = attention_net(1, 2, 8, 4, 8)
    a = arch(4096, 200.0, 1)
    plans = map_network(net, a, options=OPTS, jobs=1)
    fusion = fusion_json(plan_fusion(net, a, plans, "auto", OPTS))
    page = evaluation_html(benchmark_report(net, "attn", a, plans, "free", "energy"), plans, a, fusion)
    assert '<h2 id="fusion-section">Fused layers</h2>' in page
    figure = page[page.index('<figure class="plot" id="fusion">'):]
    assert figure.index("<svg") < figure.index("</figure>")
    assert "softmax" in figure[:figure.index("</figure>")]  # the layer chain is drawn with its names
    fused = [g for g in fusion["groups"] if g["fused"]]
    assert fused
    for g in fused:
        assert "+".join(g["layers"]) in page
        assert f"{g['dram_bytes']:,.0f}" in page and f"{g['dram_bytes_layer_by_layer']:,.0f}" in page
        assert f"{g['buffer_words']:,}" in page and f"{g['energy_pj']:,.0f}" in page
    totals = page[page.index('<p id="fusion-totals">'):]
    assert f"DRAM {fusion['dram_bytes_layer_by_layer']:,.0f} bytes layer by layer -> " \
           f"{fusion['dram_bytes_fused']:,.0f} bytes fused" in totals
    assert "Fused layers" not in evaluation_html(benchmark_report(net, "attn", a, plans, "free", "energy"), plans, a)


def test_evaluate_report_carries_the_fusion_of_its_json(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    fusion = run_cli_json("evaluate", "bert_base_layer", "--arch", "eyeriss", "--budget", "300", "--jobs", "1",
                          "--fuse", "auto", "--json", "--report", str(out))["fusion"]
    page = out.read_text()
    assert '<figure class="plot" id="fusion">' in page and "(attention)" in page
    assert f"{fusion['dram_bytes_fused']:,.0f} bytes fused" in page
    for g in fusion["groups"]:
        if g["fused"]:
            assert f"{g['dram_bytes']:,.0f}" in page

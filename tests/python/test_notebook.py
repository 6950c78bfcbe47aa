"""The example notebook, executed headless against the real server as a persona."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from personas import token

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples/lakegate.ipynb"


def test_the_example_notebook_runs_and_shows_only_the_personas_data(lakegate, tmp_path, monkeypatch):
    chart = tmp_path / "chart.png"
    monkeypatch.setenv("LAKEGATE_FLIGHT_URI", lakegate.flight_uri)
    monkeypatch.setenv("LAKEGATE_CERT", str(lakegate.dir / "tls/cert.pem"))
    monkeypatch.setenv("LAKEGATE_TOKEN", token(lakegate, "analyst"))
    monkeypatch.setenv("LAKEGATE_CHART", str(chart))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(
        str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    )
    assert "parking_raw_zone" in text and "housing" not in text and "revenues" not in text
    assert "Vehicle registration mark" in text
    assert "E05009372" in text and "E05009370" not in text
    assert chart.stat().st_size > 10_000

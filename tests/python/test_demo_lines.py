"""`lakegate demo` as a new user runs it: the Python lines it prints, pasted as they are,
give each persona a DataFrame of exactly what it may see."""

import re
import socket
import subprocess
import sys

from conftest import BIN


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_printed_notebook_lines_work_as_pasted(tmp_path):
    pg, flight, http = free_port(), free_port(), free_port()
    demo = subprocess.Popen(
        [BIN, "demo", "--dir", str(tmp_path / "demo"), "--rows", "3000", "--pg", f"127.0.0.1:{pg}",
         "--flight", f"127.0.0.1:{flight}", "--http", f"127.0.0.1:{http}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        printed = []
        for line in demo.stdout:
            printed.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        text = "".join(printed)
        assert f"lakegate: flight listening on 127.0.0.1:{flight}" in text
        snippets = dict(re.findall(r"^# (\S+)\n((?:(?!#|\n).*\n){4})", text, re.M))
        assert set(snippets) >= {"pat.parking", "max.public", "dee.engineer"}, text
        check = {
            "pat.parking": "assert len(df) > 0 and set(df.ward_code) == {'E05009372'}; "
                           "assert df.vrm.str.startswith('XX00 ').all()",
            "max.public": "assert len(df) > 0 and 'ward_code' in df.columns",
            "dee.engineer": "assert df.ward_code.nunique() > 1",
        }
        for persona, assertion in check.items():
            out = subprocess.run([sys.executable, "-c", snippets[persona] + assertion + "\nprint('ok')"],
                                 capture_output=True, text=True, timeout=120)
            assert out.stdout.strip().endswith("ok"), (persona, out.stderr)
    finally:
        demo.kill()
        demo.wait()

"""The flow explorer's frame rate and training speed in a real browser, for several views.

Starts `flowmatch explore` on a free loopback port, opens each URL in headless Chromium (Debian's
chromium and chromium-driver, through Selenium), lets it train for `--warmup` seconds, then
counts the frames the page drew (its own frame times) and the training steps over `--seconds`
seconds. Prints a markdown table (docs/benchmarks/index.md, "The flow explorer").

    python benchmarks/explore_fps.py
    python benchmarks/explore_fps.py --seconds 20 --queries "data=moons&coupling=ot&run=1"
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

QUERIES = [
    "data=moons&coupling=ot&run=1",
    "data=moons&coupling=ot&run=1&steps=64",
    "data=moons&coupling=ot&run=1&solver=rk4&steps=64",
    "data=8gaussians&coupling=sinkhorn&run=1&view=density&t=0.5",
    "data=moons&coupling=ot&run=1&view=guidance&guidance=1",
    "data=spirals&run=1&view=paths&n=4000",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", default=";".join(QUERIES), help="URLs' query strings, separated by ;")
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    server = subprocess.Popen([sys.executable, "-m", "flowmatch", "explore", "--port", "0"], stdout=subprocess.PIPE, text=True, env=env)
    url = server.stdout.readline().split("serving on ")[1].split()[0]
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1000"):
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    print("| query | frames/s | training steps/s | W2 at the end |")
    print("|---|---|---|---|")
    try:
        for query in args.queries.split(";"):
            driver.get(f"{url}?{query}")
            time.sleep(args.warmup)
            t0 = driver.execute_script("return performance.now()")
            s0 = int(driver.execute_script("return document.getElementById('step').textContent"))
            time.sleep(args.seconds)
            times = [t for t in driver.execute_script("return window.explore.frameTimes") if t >= t0]
            s1 = int(driver.execute_script("return document.getElementById('step').textContent"))
            fps = (len(times) - 1) / ((times[-1] - times[0]) / 1000) if len(times) > 1 else 0.0
            w2 = driver.execute_script("return document.getElementById('w2').textContent")
            print(f"| `?{query}` | {fps:.1f} | {(s1 - s0) / args.seconds:.0f} | {w2} |", flush=True)
    finally:
        driver.quit()
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()

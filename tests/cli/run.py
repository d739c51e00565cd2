#!/usr/bin/env python3
"""Runs the CLI tests: every function named test_* in tests/cli/test_*.py, each with a fresh
harness.Env.  Ends with "cli: N passed, M failed".

    python3 tests/cli/run.py [-j N] [--dir DIR --name NAME] [SUBSTRING...]
        SUBSTRING: only tests whose name contains one of them; DIR: another directory of
        test_*.py files using the same harness (tests/llama), NAME its summary's name.
"""
import concurrent.futures
import glob
import importlib.util
import io
import os
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def discover(patterns, here):
    for path in sorted(glob.glob(os.path.join(here, "test_*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for attr in sorted(vars(mod)):
            fn = getattr(mod, attr)
            full = "%s.%s" % (name, attr)
            if attr.startswith("test_") and callable(fn):
                if not patterns or any(p in full for p in patterns):
                    yield full, fn


def run_one(item):
    name, fn = item
    env = harness.make_env()
    start = time.monotonic()
    try:
        fn(env)
        ok, detail = True, ""
    except harness.Skip as e:
        ok, detail = None, str(e)
    except Exception:  # noqa: BLE001 - a failing test may raise anything
        ok, detail = False, traceback.format_exc()
    finally:
        harness.remove_env(env)
    return name, ok, detail, time.monotonic() - start


def main(argv):
    jobs = 2
    patterns = []
    here = os.path.dirname(os.path.abspath(__file__))
    suite = "cli"
    it = iter(argv)
    for a in it:
        if a == "-j":
            jobs = int(next(it))
        elif a == "--dir":
            here = os.path.abspath(next(it))
            sys.path.insert(0, here)
        elif a == "--name":
            suite = next(it)
        else:
            patterns.append(a)
    tests = list(discover(patterns, here))
    passed = failed = skipped = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for name, ok, detail, secs in pool.map(run_one, tests):
            if ok is None:
                skipped += 1
                print("skip %s: %s" % (name, detail))
            elif ok:
                passed += 1
                print("ok   %s (%.2fs)" % (name, secs))
            else:
                failed += 1
                print("FAIL %s (%.2fs)\n%s" % (name, secs, detail))
            sys.stdout.flush()
    if skipped:
        print("(%d skipped)" % skipped)
    print("%s: %d passed, %d failed" % (suite, passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

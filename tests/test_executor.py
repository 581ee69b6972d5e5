import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from lpcbench.cli import main
from lpcbench.executor import LocalExecutor, check_reachable, import_ray, make_executor

SWEEP = ["train-zoo", "--models", "nopen,lpc", "--lrs", "1e-3,3e-3", "--seeds", "0", "--no-progress"]


def test_local_executor_records_errors_and_goes_on():
    def job(value):
        if value == 2:
            raise RuntimeError("boom")
        return value * 10

    outcomes = LocalExecutor().map(job, [1, 2, 3])
    assert [outcome.value for outcome in outcomes] == [10, None, 30]
    assert outcomes[1].error == "RuntimeError: boom"


def test_executor_options_checked():
    with pytest.raises(ValueError, match=r"unknown executor 'slurm': expected local or ray"):
        make_executor("slurm")
    with pytest.raises(ValueError, match=r"--ray-address and --gpus-per-run apply only with --executor ray"):
        make_executor("local", address="127.0.0.1:6379")


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--ray-address", "127.0.0.1:1"], "error: --ray-address applies only with --executor ray"),
        (["--cpus-per-run", "2", "--max-retries", "1"], "error: --cpus-per-run, --max-retries apply only with --executor ray"),
        (["--executor", "ray", "--ray-address", ""], "error: --ray-address is empty: expected HOST:PORT"),
        (["--executor", "ray", "--cpus-per-run", "0"], "error: --cpus-per-run must be positive, got 0"),
        (["--executor", "ray", "--gpus-per-run", "-1"], "error: --gpus-per-run must be 0 or more, got -1"),
        (["--executor", "ray", "--max-retries", "-1"], "error: --max-retries must be 0 or more, got -1"),
    ],
)
def test_cli_checks_executor_options_first(capsys, tmp_path, extra, message):
    assert main([*SWEEP, "--epochs", "1", "--zoo-dir", str(tmp_path), *extra]) == 2
    assert capsys.readouterr().err.startswith(message)
    assert not (tmp_path / "digits").exists()  # nothing was trained


def test_missing_ray_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install 'lpcbench\[ray\]'"):
        import_ray()


def test_silent_address_fails_within_seconds():
    with socket.socket() as bound:  # bound but not listening: connecting to it is refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(ValueError, match=rf"the Ray address 127.0.0.1:{port} is not reachable .*ray start --head"):
            check_reachable(f"127.0.0.1:{port}")
        assert time.monotonic() - started < 5
    for address in ("nowhere", "http://127.0.0.1:6379", "127.0.0.1:99999", "ray://127.0.0.1"):
        with pytest.raises(ValueError, match=r"invalid Ray address .*: expected HOST:PORT, ray://HOST:PORT or auto, with a port from 1 to 65535"):
            check_reachable(address)


def test_cli_silent_address_is_one_error_line(capsys, tmp_path):
    pytest.importorskip("ray")
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{bound.getsockname()[1]}"
        code = main([*SWEEP, "--epochs", "1", "--zoo-dir", str(tmp_path), "--executor", "ray", "--ray-address", address])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: the Ray address {address} is not reachable")
    assert "Traceback" not in err


# Everything below needs Ray, installed by .ci/run and the README's test command (the 'ray' extra).


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def two_sweeps(ray_cluster, tmp_path_factory):
    """The same tiny sweep (2 variants x 2 learning rates x 1 seed, 2 epochs) through both executors."""
    root = tmp_path_factory.mktemp("sweeps")
    assert main([*SWEEP, "--epochs", "2", "--zoo-dir", str(root / "local")]) == 0
    assert main([*SWEEP, "--epochs", "2", "--zoo-dir", str(root / "ray"), "--executor", "ray"]) == 0
    return root


def selections(zoo):
    return {path.parent.name: json.loads(path.read_text()) for path in sorted((zoo / "digits").glob("*/seed0.json"))}


def test_ray_sweep_matches_local(two_sweeps):
    local, ray = selections(two_sweeps / "local"), selections(two_sweeps / "ray")
    assert sorted(local) == sorted(ray) == ["lpc", "nopen"]
    for model_id in local:
        assert ray[model_id]["selected_run"] == local[model_id]["selected_run"]
        assert len(ray[model_id]["candidates"]) == 2
        for mine, theirs in zip(ray[model_id]["candidates"], local[model_id]["candidates"]):
            assert mine["run"] == theirs["run"]
            assert mine["status"] == theirs["status"] == "trained"
            for split in ("train", "val", "test"):
                assert mine["accuracy"][split] == pytest.approx(theirs["accuracy"][split], abs=1e-12)


def test_bench_on_ray(two_sweeps, capsys, tmp_path):
    arguments = ["bench", "--n", "10", "--no-progress", "--zoo-dir", str(two_sweeps / "ray"), "--leaderboard-dir", str(tmp_path)]
    assert main([*arguments, "--executor", "ray"]) == 0
    assert "2 entries written (0 with an error), 0 reused" in capsys.readouterr().out
    entry = json.loads((tmp_path / "digits" / "nopen-seed0.json").read_text())
    assert entry["deepfool"]["n"] == 10


def test_failed_run_listed_and_the_rest_finished(ray_cluster, capsys, tmp_path):
    from lpcbench.zoo.config import load_spec
    from lpcbench.zoo.sweep import plan_runs

    # An unreadable checkpoint makes one run raise on every attempt.
    tasks = plan_runs(load_spec("digits"), model_ids=["nopen"], seeds=[0], zoo_dir=tmp_path, lrs=[1e-3, 3e-3], epochs=2)
    tasks[0].run_dir.mkdir(parents=True)
    (tasks[0].run_dir / "checkpoint.pt").write_bytes(b"not a checkpoint")

    code = main(["train-zoo", "--models", "nopen", "--lrs", "1e-3,3e-3", "--epochs", "2", "--no-progress", "--zoo-dir", str(tmp_path), "--executor", "ray"])
    captured = capsys.readouterr()
    assert code == 1
    assert "[2/2]" in captured.out
    assert f"error: nopen seed 0 lr 0.001 ({tasks[0].run_dir.name}): CheckpointError" in captured.err
    selection = json.loads((tmp_path / "digits" / "nopen" / "seed0.json").read_text())
    assert selection["selected_run"] == tasks[1].run_dir.name


def test_dead_worker_retried(ray_cluster, tmp_path):
    from lpcbench.executor import RayExecutor

    marker = str(tmp_path / "died-once")

    def dies_once(value):
        if not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)  # the worker process dies, as on a lost node
        return value + 1

    def always_dies(value):
        os._exit(1)

    executor = RayExecutor(max_retries=1)
    assert executor.map(dies_once, [41])[0].value == 42
    (outcome,) = executor.map(always_dies, [0])
    assert outcome.value is None
    assert "died" in outcome.error.lower() or "crash" in outcome.error.lower()
    executor.close()  # leaves the fixture's Ray running


def test_resource_requests_checked(ray_cluster):
    from lpcbench.executor import RayExecutor

    with pytest.raises(ValueError, match=r"each run requests 1 GPU\(s\) but the largest Ray node has 0: lower --gpus-per-run"):
        RayExecutor(gpus_per_task=1)
    with pytest.raises(ValueError, match=r"each model requests 3 CPU\(s\) but the largest Ray node has 2: lower --cpus-per-run"):
        RayExecutor(cpus_per_task=3, unit="model")  # it would wait forever for a node that large
    with pytest.raises(ValueError, match=r"--cpus-per-run must be positive, got 0"):
        RayExecutor(cpus_per_task=0)


def test_shared_folder_check(ray_cluster, tmp_path, monkeypatch):
    import lpcbench.executor
    from lpcbench.executor import RayExecutor

    executor = RayExecutor()
    executor.check_shared_folder(tmp_path)  # one node: the folder is visible from it
    assert list(tmp_path.iterdir()) == []  # the marker file is removed
    monkeypatch.setattr(lpcbench.executor, "_sees_file", lambda path: ("elsewhere", False))
    with pytest.raises(ValueError, match=r"--zoo-dir .* is not visible from Ray node\(s\) .*\(elsewhere\): every node writes runs there"):
        executor.check_shared_folder(tmp_path)


def test_killed_sweep_restarts_without_retraining(ray_cluster, tmp_path):
    command = [sys.executable, "-c", "import sys; from lpcbench.cli import main; sys.exit(main(sys.argv[1:]))", *SWEEP, "--epochs", "8", "--zoo-dir", str(tmp_path), "--executor", "ray", "--ray-num-cpus", "2"]
    environment = dict(os.environ, RAY_ADDRESS="")  # a Ray of its own, not the fixture's
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=environment)
    try:
        deadline = time.monotonic() + 240
        while not list(tmp_path.glob("digits/*/*/model.json")) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the driver, its local Ray and the workers
        process.wait()
    finished = {path: path.read_bytes() for path in tmp_path.glob("digits/*/*/model.json")}
    assert finished, "no run finished before the kill"

    assert main([*SWEEP, "--epochs", "8", "--zoo-dir", str(tmp_path), "--executor", "ray"]) == 0
    cards = list(tmp_path.glob("digits/*/*/model.json"))
    assert len(cards) == 4
    for path, content in finished.items():
        assert path.read_bytes() == content  # not retrained
    statuses = {c["run"]: c["status"] for s in selections(tmp_path).values() for c in s["candidates"]}
    for path in finished:
        assert statuses[path.parent.name] == "skipped"

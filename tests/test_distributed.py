"""``cr.distributed``: alone (a communicator of one), and real MPI jobs (``mpiexec``).

The MPI jobs live in ``tests/distributed_jobs/``; each batches many checks (MPI start-up
costs about a second per job), prints ``RESULT {json}`` from rank 0, and runs under a
timeout so a hung job fails instead of stalling the suite. Without mpi4py and ``mpiexec``
they skip, and with ``CHAINRULE_REQUIRE_TOOLS=1`` (CI) that skip is a failure.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import DataLoader, DistributedSampler, TensorDataset
from chainrule.distributed.launch import find_mpiexec

ROOT = Path(__file__).resolve().parents[1]
JOBS = ROOT / "tests" / "distributed_jobs"


# --- alone: the communicator of one process ---------------------------------------------


def test_alone_every_collective_is_the_identity(tmp_path):
    assert cr.distributed.init() == (0, 1, 0)
    assert cr.distributed.init() == (0, 1, 0)  # idempotent
    assert (cr.distributed.rank(), cr.distributed.world_size()) == (0, 1)
    assert cr.distributed.is_main()
    cr.distributed.barrier()
    a = np.array([1.0, -2.0])
    for op in ("sum", "mean", "max"):
        out = cr.distributed.all_reduce(a, op=op)
        assert np.array_equal(out, a) and out is not a
    assert cr.distributed.all_reduce(3) == 3
    assert cr.distributed.all_reduce(np.array([1, 2]), op="mean").dtype == np.float64
    assert np.array_equal(cr.distributed.broadcast(cr.tensor([4.0, 5.0])), [4.0, 5.0])
    with pytest.raises(ValueError, match="op must be one of"):
        cr.distributed.all_reduce(a, op="avg")
    with pytest.raises(ValueError, match="root must be a rank in 0..0"):
        cr.distributed.broadcast(a, root=1)
    cr.distributed.save({"a": a}, tmp_path / "x.crz")
    assert np.array_equal(cr.load(tmp_path / "x.crz")["a"], a)


def test_alone_ddp_changes_nothing():
    cr.manual_seed(0)
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    plain = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    plain.load_state_dict(model.state_dict())
    ddp = cr.nn.parallel.DistributedDataParallel(model)
    assert ddp.module is model
    assert list(ddp.state_dict()) == ["module." + k for k in model.state_dict()]
    x = cr.tensor(np.random.default_rng(0).normal(size=(5, 3)), dtype=cr.float32)
    ddp(x).sum().backward()
    plain(x).sum().backward()
    for p, q in zip(model.parameters(), plain.parameters()):
        assert np.array_equal(p.grad.data, q.grad.data)
    with pytest.raises(TypeError, match="wraps a cr.nn.Module"):
        cr.distributed.DistributedDataParallel(lambda x: x)
    with pytest.raises(ValueError, match="bucket_mb must be positive"):
        cr.distributed.DistributedDataParallel(model, bucket_mb=0)


# --- DistributedSampler, with explicit ranks ----------------------------------------------


@pytest.mark.parametrize("n,replicas", [(10, 3), (12, 4), (5, 2), (2, 4), (7, 1)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_shards(n, replicas, drop_last):
    if drop_last and n < replicas:
        with pytest.raises(ValueError, match="drop_last=True"):
            DistributedSampler(range(n), num_replicas=replicas, rank=0, drop_last=True)
        return
    for epoch in (0, 1):
        shards = []
        for r in range(replicas):
            s = DistributedSampler(
                range(n), seed=3, drop_last=drop_last, num_replicas=replicas, rank=r
            )
            s.set_epoch(epoch)
            shards.append(list(s))
        sizes = {len(s) for s in shards}
        assert len(sizes) == 1  # every process gets as many samples
        flat = [i for s in shards for i in s]
        assert all(0 <= i < n for i in flat)
        if drop_last:
            # n // replicas each, all different: the tail that does not divide is dropped
            assert sizes == {n // replicas} and len(set(flat)) == len(flat)
        else:
            # every sample at least once; only the padding repeats
            assert sizes == {-(-n // replicas)} and set(flat) == set(range(n))
            assert len(flat) - n < replicas
        # the same order on every process (same seed and epoch): interleaving the shards
        # gives one permutation of the samples, padded with its own first ones
        order = [shards[r][k] for k in range(len(shards[0])) for r in range(replicas)]
        if not drop_last and n >= replicas:
            assert sorted(order[:n]) == list(range(n))
            assert order[n:] == order[: len(order) - n]
    a = DistributedSampler(range(50), seed=3, num_replicas=2, rank=0)
    b = DistributedSampler(range(50), seed=3, num_replicas=2, rank=0)
    assert list(a) == list(b)  # deterministic per seed and epoch
    b.set_epoch(1)
    assert list(a) != list(b)  # another epoch, another order
    c = DistributedSampler(range(50), seed=4, num_replicas=2, rank=0)
    assert list(a) != list(c)
    ordered = DistributedSampler(range(7), shuffle=False, num_replicas=3, rank=2)
    assert list(ordered) == [2, 5, 1]  # 0..6 padded with 0, 1; positions 2, 5, 8


def test_sampler_bad_input_and_data_loader():
    with pytest.raises(ValueError, match="rank must be in 0..1"):
        DistributedSampler(range(4), num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas must be a positive integer"):
        DistributedSampler(range(4), num_replicas=0, rank=0)
    with pytest.raises(TypeError, match="needs __len__"):
        DistributedSampler(iter(range(4)), num_replicas=1, rank=0)
    alone = DistributedSampler(range(4))  # defaults from cr.distributed: one process
    assert (alone.num_replicas, alone.rank, len(alone)) == (1, 0, 4)

    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    ds = TensorDataset(X, y)
    sampler = DistributedSampler(ds, seed=1, num_replicas=3, rank=1)
    loader = DataLoader(ds, batch_size=3, sampler=sampler)
    assert len(loader) == 2  # 4 samples in batches of 3
    loader.set_epoch(2)  # passed on to the sampler
    assert sampler.epoch == 2
    got = [int(v) for _, yb in loader for v in yb.data]
    assert got == list(sampler)
    xs = np.concatenate([xb.data for xb, _ in loader])
    assert np.array_equal(xs, X[got].astype(np.float32))
    with pytest.raises(ValueError, match="shuffle=True or a sampler, not both"):
        DataLoader(ds, shuffle=True, sampler=sampler)
    with pytest.raises(TypeError, match="sampler must be an iterable"):
        DataLoader(ds, sampler=3)


# --- real MPI jobs --------------------------------------------------------------------


def _mpiexec() -> str:
    mpiexec = find_mpiexec()
    if mpiexec is None:
        pytest.skip("could not import mpi4py or find mpiexec: pip install -e '.[distributed]'")
    return mpiexec


def _launch(n: int, args: list[str], *, mpi4py: bool = True, timeout: float = 60):
    """Run ``mpiexec -n N python [-m mpi4py] args``; returns (status, stdout, stderr, s)."""
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        ),
    )
    cmd = [_mpiexec(), "-n", str(n), sys.executable] + (["-m", "mpi4py"] if mpi4py else [])
    start = time.perf_counter()
    proc = subprocess.run(
        cmd + args, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT
    )
    return proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start


def _result(out: str, err: str) -> dict:
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert len(lines) == 1, f"no result from the job; stdout:\n{out}\nstderr:\n{err}"
    return json.loads(lines[0][len("RESULT ") :])


def test_two_processes_average_gradients_like_one_process_on_the_whole_batch(tmp_path):
    status, out, err, _ = _launch(2, [str(JOBS / "ddp_checks.py"), str(tmp_path)])
    assert status == 0, err
    r = _result(out, err)
    assert r["rank_world_main"] == [[0, 2, 1], [1, 2, 0]]
    assert r["sum"] == [3.0, 6.0] and r["mean"] == [1.5, 3.0] and r["max"] == [1, 0]
    assert r["scalar_sum"] == 3 and r["init_again"] == [0, 2, 0]
    assert r["broadcast"] == [[10.0, 11.0, 12.0]] * 2
    # 20 steps, 2 ranks x batch 16 against 1 process x batch 32, from rank 0's weights
    for key, tol in [
        ("sgd64", 1e-12),
        ("adam64", 1e-12),
        ("sgd64_small_buckets", 1e-12),
        ("sgd32", 1e-5),
        ("adam32", 1e-5),
    ]:
        assert r[key]["dtype"] == ("float64" if "64" in key else "float32")
        assert r[key]["diff"] < tol, (key, r[key])
        assert r[key]["across_ranks"] == 0.0, (key, r[key])  # identical weights everywhere
        assert r[key]["moved"] > 0.01  # the weights did move
        assert r[key]["buckets"] == (6 if key == "sgd64_small_buckets" else 1)
    assert r["no_sync_local_differs"] > 1e-3 and r["no_sync_diff"] < 1e-12
    assert r["head_grad_is_half_of_rank0"] < 1e-12
    assert r["unused_grad_is_none"] == [[1.0], [1.0]]
    assert r["bn_sync_False"]["ranks_differ"] > 1e-3  # per-rank statistics by default
    assert r["bn_sync_True"] == {"ranks_differ": 0.0, "diff_from_mean": 0.0}
    assert r["save_calls"] == 1 and r["saved_rank"] == [[0.0], [0.0]] and r["saved_complete"]


def test_three_processes_shard_ten_samples_unevenly():
    status, out, err, _ = _launch(3, [str(JOBS / "sampler_checks.py")])
    assert status == 0, err
    r = _result(out, err)
    assert r["mean_of_ranks"] == 1.0 and r["max_of_ranks"] == [2]
    for epoch in (0, 1):
        perm = np.random.default_rng((5, epoch)).permutation(10).tolist()
        padded = perm + perm[:2]  # PyTorch's padding: the order's own first samples
        got = r[f"drop_last=False epoch={epoch}"]
        assert got["shards"] == [padded[k::3] for k in range(3)]
        assert got["indices"] == padded[0::3] and got["batches"] == 2
        dropped = r[f"drop_last=True epoch={epoch}"]
        assert dropped["shards"] == [perm[:9][k::3] + [-1] for k in range(3)]
    assert r["drop_last=False epoch=0"]["shards"] != r["drop_last=False epoch=1"]["shards"]


@pytest.mark.parametrize("mpi4py", [True, False], ids=["python -m mpi4py", "python"])
def test_a_rank_that_raises_ends_the_job_with_its_error(mpi4py):
    status, _, err, seconds = _launch(
        2, [str(JOBS / "faults.py"), "raise"], mpi4py=mpi4py, timeout=10
    )
    assert status != 0
    assert "ValueError: rank one failed on purpose" in err
    assert "rank 1" in err


def test_a_rank_killed_by_a_signal_ends_the_job():
    status, out, err, _ = _launch(2, [str(JOBS / "faults.py"), "kill"], timeout=10)
    assert status != 0
    assert "signal 9" in (out + err) or "Killed" in (out + err)


def test_different_models_are_an_error_on_every_rank():
    status, _, err, _ = _launch(2, [str(JOBS / "faults.py"), "mismatch"], timeout=20)
    assert status == 3
    for rank in (0, 1):
        line = next(x for x in err.splitlines() if x.startswith(f"rank {rank} raised"))
        assert "the processes hold different models" in line
        assert "'2.weight' of shape (3, 8)" in line and "of shape (4, 8)" in line


def test_fit_on_two_processes(tmp_path):
    status, out, err, _ = _launch(2, [str(JOBS / "fit_checks.py"), str(tmp_path)])
    assert status == 0, err
    r = _result(out, err)
    # 2 ranks x batch 16 (unshuffled shards) against 1 process x batch 32, float64
    assert r["fit_param_diff"] < 1e-12
    for key, diff in r["history_diff"].items():  # averaged over ranks == the whole data's
        assert diff < 1e-12, key
    assert r["progress_enabled"] == [[True], [False]]  # a progress bar on rank 0 only
    # checkpoint after 2 of 4 epochs, written once, then resumed under 2 ranks
    assert r["checkpoint_writes"] == 1
    assert r["resume_param_diff"] == 0.0 and r["resume_history_equal"]
    assert r["histories_equal_across_ranks"]
    # a nan loss on rank 1 only: both ranks stop at the same batch
    assert r["nonfinite"] == ["fit: the loss became nan at epoch 2, batch 2"] * 2


def test_train_command_on_two_processes(tmp_path):
    pytest.importorskip("sklearn")
    _mpiexec()
    ckpt = tmp_path / "digits.ckpt"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [
        sys.executable,
        "-m",
        "chainrule",
        "train",
        "--ranks",
        "2",
        "--epochs",
        "2",
        "--batch-size",
        "32",
        "--no-progress",
        "--save",
        str(ckpt),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.count("data-parallel on 2 processes: batch 16 on each, 32 together") == 1
    assert out.count("test accuracy: ") == 1 and out.count("saved the model to") == 1
    acc = float(out.split("test accuracy: ")[1].split()[0])
    from chainrule.data import train_test_split
    from chainrule.train import predict
    from chainrule.train_cli import load_checkpoint

    model, ck = load_checkpoint(ckpt)  # a plain model: no "module." in the keys
    X, y = cr.datasets.load_digits()
    _, Xte, _, yte = train_test_split(X, y, test_size=0.2, seed=0, stratify=True)
    pred = predict(model, (Xte - ck["mean"]) / ck["std"])
    assert float(np.mean(np.argmax(pred, 1) == yte)) == pytest.approx(acc, abs=5e-5)
    assert acc > 0.8


def test_train_ranks_without_mpi_says_how_to_install(monkeypatch, capsys):
    from chainrule import cli
    from chainrule.distributed import launch

    monkeypatch.setattr(launch, "find_mpiexec", lambda: None)
    assert cli.main(["train", "--ranks", "2"]) == 1
    err = capsys.readouterr().err
    assert "--ranks 2: no MPI found" in err and 'pip install -e ".[distributed]"' in err
    assert cli.main(["train", "--ranks", "0"]) == 2
    assert "--ranks must be at least 1" in capsys.readouterr().err


def test_train_distributed_alone_runs_as_one_process(capsys):
    pytest.importorskip("sklearn")
    from chainrule import cli

    assert cli.main(["train", "--distributed", "--epochs", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "--distributed: this process runs alone" in out and "test accuracy" in out

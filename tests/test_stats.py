"""The statistics layer: row blocks on threads give the serial masks and sums, bit for bit."""

import ast
import copy
import pathlib

import numpy as np
import pytest

import spikedcl as sc
from spikedcl.augment import MASK_LAWS
from spikedcl.stats import StatisticsAccumulator, block_masks, data_statistics, view_statistics

NEED = {"gram", "total", "cross", "total1", "total2"}


@pytest.mark.parametrize("mode", ["per-sample", "exact-count", "fixed", "fixed-bernoulli"])
@pytest.mark.parametrize("p", [0.5, 0.3])
@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("block_rows", [1, 7, 13])
def test_block_masks_equal_the_serial_draw(mode, p, threads, block_rows, seed):
    """Each block drawn from an advanced copy of PCG64 (130 columns: three words a row at
    p = 1/2, the last partly used); the generator ends where the serial draw leaves it."""
    law = MASK_LAWS[mode]
    g = np.random.default_rng(seed)
    g.integers(0, 2**32, dtype=np.uint32)  # a buffered 32-bit half the serial 64-bit draws keep
    serial_g = copy.deepcopy(g)
    serial = law.draw(50, 130, p, serial_g)
    blocked = block_masks(law, 50, 130, p, g, block_rows=block_rows, threads=threads)
    np.testing.assert_array_equal(blocked, serial)
    assert g.bit_generator.state == serial_g.bit_generator.state
    assert g.random() == serial_g.random()


@pytest.mark.parametrize("bit_generator", [np.random.MT19937, np.random.Philox, np.random.SFC64])
def test_other_generators_fall_back_to_the_serial_draw(bit_generator, seed):
    g, h = np.random.Generator(bit_generator(seed)), np.random.Generator(bit_generator(seed))
    np.testing.assert_array_equal(
        block_masks("per-sample", 40, 70, 0.5, g, block_rows=3, threads=3), MASK_LAWS["per-sample"].draw(40, 70, 0.5, h)
    )
    np.testing.assert_array_equal(g.integers(0, 2**63, size=4), h.integers(0, 2**63, size=4))  # same state


@pytest.mark.parametrize("p", [0.5, 0.3])
@pytest.mark.parametrize("mode", ["per-sample", "exact-count", "fixed"])
def test_threaded_statistics_are_bit_identical(p, mode, seed):
    """Blocks are summed in block order, so every thread count gives the same bits;
    and they equal the statistics of whole views (to rounding, 1e-12 on O(100) entries)."""
    X = np.random.default_rng(seed).standard_normal((101, 17)) + 0.2
    law = MASK_LAWS[mode]
    runs = [data_statistics(X, NEED, law=law, p=p, rng=np.random.default_rng(seed), threads=t, block_rows=b)
            for t, b in ((1, 9), (2, 9), (3, 9))]
    for other in runs[1:]:
        for key in NEED:
            np.testing.assert_array_equal(getattr(other, key), getattr(runs[0], key))
    whole = view_statistics(*sc.random_mask(X, p, rng=seed, mode=mode), NEED)
    for key in NEED:
        np.testing.assert_allclose(getattr(runs[0], key), getattr(whole, key), rtol=0, atol=1e-12)


def test_fit_uses_threads_and_keeps_the_masks(seed, monkeypatch):
    """The realized fit on 1 and on 3 threads (8 blocks of 25 rows): identical eigenvalues."""
    from spikedcl import stats

    X = sc.SpikedModel.random(40, 3, rng=seed).sample(200, rng=seed)
    monkeypatch.setattr(stats, "VIEW_BLOCK_ENTRIES", 25 * 40)
    monkeypatch.setattr(stats, "default_threads", lambda: 1)
    one = sc.fit_contrastive(X, 3, rng=seed)
    monkeypatch.setattr(stats, "default_threads", lambda: 3)
    three = sc.fit_contrastive(X, 3, rng=seed)
    np.testing.assert_array_equal(one.eigenvalues, three.eigenvalues)


def test_chunks_accumulate_to_the_in_memory_statistics(seed):
    X = np.random.default_rng(seed).standard_normal((90, 12))
    law = MASK_LAWS["per-sample"]
    acc = StatisticsAccumulator(NEED, law=law, p=0.5, rng=np.random.default_rng(seed))
    for a in range(0, 90, 31):
        acc.add(X[a:a + 31])
    streamed = acc.result({"p": 0.5})
    inmem = data_statistics(X, NEED, law=law, p=0.5, rng=np.random.default_rng(seed))
    for key in NEED:
        np.testing.assert_allclose(getattr(streamed, key), getattr(inmem, key), rtol=0, atol=1e-12)
    np.testing.assert_allclose(streamed.contrastive_matrix("simclr"), inmem.contrastive_matrix("simclr"), atol=1e-13)


# ----------------------------------------------------------------------------- package structure

PACKAGE = pathlib.Path(sc.__file__).parent
SHARED = {"_array_api", "_validation", "_linalg", "_common"}


def _imports(path):
    """(imported module, names) of every relative import in ``path``, function-level ones included."""
    tree = ast.parse(path.read_text())
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    pkg = parts[:-1] if parts[-1] != "__init__" else parts
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = pkg[: len(pkg) - node.level + 1]
            target = ".".join(base + tuple(node.module.split("."))) if node.module else ".".join(base)
            yield target, [a.name for a in node.names]


def _modules():
    return {".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__"): p
            for p in PACKAGE.rglob("*.py")}


@pytest.mark.parametrize("name", sorted(_modules()))
def test_no_private_helper_is_imported_across_modules(name):
    for target, names in _imports(_modules()[name]):
        if target.rsplit(".", 1)[-1] in SHARED:
            continue
        private = [n for n in names if n.startswith("_") and not n.startswith("__")]
        assert not private, f"{name} imports private {private} from {target}"


def test_the_package_has_no_import_cycle():
    mods = _modules()
    graph = {m: set() for m in mods}
    for m, path in mods.items():
        for target, names in _imports(path):
            for t in [target] + [f"{target}.{n}" for n in names]:
                if t in mods and t != m:
                    graph[m].add(t)

    def reach(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    cycles = sorted(m for m in mods if m in reach(m))
    assert not cycles, f"modules on an import cycle: {cycles}"

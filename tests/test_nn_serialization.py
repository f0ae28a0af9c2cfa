"""state_dict, load_state_dict, save and load: round trips, and every bad input leaving the model unchanged."""

import os
import zipfile

import numpy as np
import pytest

import nn
import nn.io.npz


def make_model(seed=0, dtype=None):
    return nn.MLP([2, 3, 1], rng=np.random.default_rng(seed), dtype=dtype)


def snapshot(model):
    """The model's parameter arrays themselves (not copies), and copies of their values."""
    return [(p, p.data, p.data.copy()) for p in model.parameters()]


def assert_unchanged(model, snap):
    for (p, data, values), q in zip(snap, model.parameters()):
        assert p is q and p.data is data
        np.testing.assert_array_equal(p.data, values)


def test_state_dict_holds_copies_under_dotted_names():
    model = make_model()
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert state["0.weight"].shape == (3, 2)
    state["0.weight"][...] = 7.0
    assert not np.any(model.layers[0].weight.data == 7.0)


def test_load_state_dict_round_trip_copies_in_place():
    source, target = make_model(0), make_model(1)
    snap = snapshot(target)
    assert target.load_state_dict(source.state_dict()) == nn.IncompatibleKeys([], [])
    for (p, data, _), q in zip(snap, source.parameters()):
        assert p.data is data  # the same arrays, overwritten: optimizers and views stay valid
        np.testing.assert_array_equal(p.data, q.data)


def test_shared_parameters_are_saved_once():
    shared = nn.Linear(2, 2, rng=np.random.default_rng(0))
    model = nn.Sequential(shared, nn.Tanh(), shared)
    assert list(model.state_dict()) == ["0.weight", "0.bias"]


@pytest.mark.parametrize(
    ("edit", "problems"),
    [
        (lambda s: s.pop("2.bias"), ["missing key '2.bias'"]),
        (lambda s: s.update(extra=np.zeros(1)), ["unexpected key 'extra'"]),
        (lambda s: s.update({"0.weight": np.zeros((2, 3))}), ["'0.weight' has shape (2, 3)", "has shape (3, 2)"]),
        (lambda s: s.update({"0.bias": np.zeros(3, np.float32)}), ["'0.bias' has dtype float32"]),
        (lambda s: s.update({"0.bias": np.array([None, 1, 2])}), ["'0.bias' is an object array"]),
        (lambda s: s.update({"0.bias": "zeros"}), ["'0.bias' holds strings, not numbers"]),
        (
            lambda s: (s.pop("2.weight"), s.update(bogus=1.0, **{"0.bias": np.zeros(4)})),
            ["missing key '2.weight'", "unexpected key 'bogus'", "'0.bias' has shape (4,)", "3 problem(s)"],
        ),
    ],
)
def test_load_state_dict_lists_every_problem_and_changes_nothing(edit, problems):
    model = make_model(1)
    snap = snapshot(model)
    state = make_model(0).state_dict()
    edit(state)
    with pytest.raises(ValueError, match="load_state_dict") as info:
        model.load_state_dict(state)
    for words in problems:
        assert words in str(info.value)
    assert_unchanged(model, snap)


def test_load_state_dict_not_strict_reports_missing_and_unexpected_keys():
    model, source = make_model(1), make_model(0)
    state = source.state_dict()
    del state["2.bias"]
    state["extra"] = np.zeros(2)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["2.bias"] and result.unexpected_keys == ["extra"]
    np.testing.assert_array_equal(model.layers[0].weight.data, source.layers[0].weight.data)
    assert not np.array_equal(model.layers[2].bias.data, source.layers[2].bias.data)


def test_load_state_dict_wants_a_mapping():
    model = make_model()
    snap = snapshot(model)
    with pytest.raises(TypeError, match="load_state_dict: expected a mapping"):
        model.load_state_dict([("0.weight", np.zeros((3, 2)))])
    assert_unchanged(model, snap)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_and_load_round_trip(tmp_path, dtype):
    source, target = make_model(0, dtype), make_model(1, dtype)
    path = tmp_path / "weights.npz"
    source.save(path)
    assert sorted(os.listdir(tmp_path)) == ["weights.npz"]  # no temporary file left behind
    with np.load(path, allow_pickle=False) as f:
        assert f.files == ["0.weight", "0.bias", "2.weight", "2.bias"]
    target.load(str(path))
    for p, q in zip(source.parameters(), target.parameters()):
        assert q.dtype == dtype
        np.testing.assert_array_equal(p.data, q.data)


def test_save_replaces_an_existing_file_whole(tmp_path):
    path = tmp_path / "weights.npz"
    path.write_bytes(b"old contents" * 1000)
    make_model(0).save(path)
    target = make_model(1)
    target.load(path)
    np.testing.assert_array_equal(target.layers[0].weight.data, make_model(0).layers[0].weight.data)


def test_save_into_a_missing_directory_fails_and_writes_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        make_model().save(tmp_path / "no" / "such" / "dir.npz")
    assert os.listdir(tmp_path) == []


def _write_bad(kind, path, good):
    if kind == "missing":
        return
    if kind == "truncated":
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "truncated-member":
        # a zip whose directory is intact but whose member data is cut short
        with zipfile.ZipFile(good) as z, zipfile.ZipFile(path, "w") as out:
            for name in z.namelist():
                out.writestr(name, z.read(name)[:20])
    elif kind == "not-zip":
        path.write_text("this is not an archive\n" * 10)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "npy":
        np.save(path.with_suffix(".npy"), np.zeros(3))
        os.replace(path.with_suffix(".npy"), path)
    elif kind == "object":
        state = make_model(0).state_dict()
        state["0.bias"] = np.array([{"a": 1}, None, 3], dtype=object)
        np.savez(path, **state)
    elif kind == "wrong-keys":
        np.savez(path, weight=np.zeros((3, 2)))
    elif kind == "wrong-shape":
        state = make_model(0).state_dict()
        state["2.weight"] = np.zeros((3, 1))
        np.savez(path, **state)


@pytest.mark.parametrize(
    ("kind", "error", "words"),
    [
        ("missing", FileNotFoundError, "no such file"),
        ("truncated", ValueError, "not a readable .npz archive"),
        ("truncated-member", ValueError, "cannot be read"),
        ("not-zip", ValueError, "not a readable .npz archive"),
        ("empty", ValueError, "not a readable .npz archive"),
        ("npy", ValueError, "not an .npz archive"),
        ("object", ValueError, "'0.bias' is an object array"),
        ("wrong-keys", ValueError, "missing key '0.weight'"),
        ("wrong-shape", ValueError, "'2.weight' has shape (3, 1)"),
    ],
)
def test_loading_a_bad_file_raises_a_clear_error_and_changes_nothing(tmp_path, kind, error, words):
    good = tmp_path / "good.npz"
    make_model(0).save(good)
    path = tmp_path / "bad.npz"
    _write_bad(kind, path, good)
    model = make_model(1)
    snap = snapshot(model)
    with pytest.raises(error) as info:
        model.load(path)
    assert words in str(info.value)
    assert_unchanged(model, snap)


def _honest_huge_archive(path, model):
    """An archive whose 0.weight member honestly holds 25,000,000 float64 zeros (200 MB inflated, a few
    hundred KB deflated) where the model's weight is (3, 2): its zip header and its .npy header both tell."""
    n = 25_000_000
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, array in model.state_dict().items():
            if name != "0.weight":
                with z.open(f"{name}.npy", "w") as f:
                    np.lib.format.write_array(f, array)
        with z.open("0.weight.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
            block = bytes(8 * 1_000_000)
            for _ in range(n // 1_000_000):
                f.write(block)
    with zipfile.ZipFile(path) as z:
        assert z.getinfo("0.weight.npy").file_size > 8 * n  # honest: the data really is there


def test_a_file_declaring_a_huge_array_is_refused_from_its_header_without_inflating_it(tmp_path):
    import tracemalloc

    path = tmp_path / "huge.npz"
    model = make_model()
    _honest_huge_archive(path, model)
    snap = snapshot(model)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"'0.weight' has shape \(25000000,\), the model's parameter has shape \(3, 2\)"):
            model.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20, f"{peak / 2**20:.0f} MiB allocated while refusing the file"
    assert_unchanged(model, snap)
    with pytest.raises(ValueError, match=r"has shape \(25000000,\)"):  # strict=False reads the headers first too
        model.load(path, strict=False)


def test_big_endian_float64_is_float64(tmp_path):
    source = make_model(0)
    path = tmp_path / "big-endian.npz"
    with zipfile.ZipFile(path, "w") as z:
        for name, array in source.state_dict().items():
            with z.open(f"{name}.npy", "w") as f:
                np.lib.format.write_array(f, array.astype(">f8"))
    model = make_model(1)
    model.load(path)
    for p, q in zip(model.parameters(), source.parameters()):
        assert p.data.dtype == np.float64 and p.data.dtype.isnative
        np.testing.assert_array_equal(p.data, q.data)
    assert nn.io.npz.load_npz(path)["0.weight"].dtype.isnative
    other = make_model(2)
    other.load_state_dict({k: v.astype(">f8") for k, v in source.state_dict().items()})
    np.testing.assert_array_equal(other.layers[0].weight.data, source.layers[0].weight.data)
    with pytest.raises(ValueError, match="has dtype >f4, the model's parameter has dtype float64"):
        other.load_state_dict({k: v.astype(">f4") for k, v in source.state_dict().items()})


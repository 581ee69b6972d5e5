import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from lpcbench.evaluate.loading import ModelContractError, check_contract, layer_by_name, load_callable_model, load_weights

MODEL_FILE = '''
import torch
from torch import nn

def build_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))

def not_a_model():
    return 42
'''


@pytest.fixture()
def model_file(tmp_path):
    path = tmp_path / "my_model.py"
    path.write_text(MODEL_FILE)
    return path


def test_load_from_file(model_file):
    model = load_callable_model(f"{model_file}:build_model")
    assert isinstance(model, nn.Module)


@pytest.mark.parametrize(
    "spec,message",
    [
        ("no-colon", r"expected FILE.py:FUNCTION or MODULE:FUNCTION, got 'no-colon'"),
        ("/nonexistent/model.py:build", r"model file /nonexistent/model.py not found"),
        ("lpcbench_no_such_module:build", r"cannot import module 'lpcbench_no_such_module': .*; set PYTHONPATH to the folder"),
    ],
)
def test_bad_model_specs(spec, message):
    with pytest.raises(ModelContractError, match=message):
        load_callable_model(spec)


def test_callable_must_return_module(model_file):
    with pytest.raises(ModelContractError, match=r"returned int, expected a torch.nn.Module"):
        load_callable_model(f"{model_file}:not_a_model")
    with pytest.raises(ModelContractError, match=r"has no callable 'missing'"):
        load_callable_model(f"{model_file}:missing")


def test_weights_round_trip(tmp_path, model_file):
    source = load_callable_model(f"{model_file}:build_model")
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(tmp_path / "w.safetensors"))
    torch.save(source.state_dict(), tmp_path / "w.pt")
    for name in ("w.safetensors", "w.pt"):
        target = load_callable_model(f"{model_file}:build_model")
        load_weights(target, tmp_path / name)
        assert torch.equal(target[1].weight, source[1].weight)


def test_weights_mismatch_lists_keys(tmp_path, model_file):
    torch.save({"1.weight": torch.zeros(5, 64), "extra": torch.zeros(1)}, tmp_path / "w.pt")
    with pytest.raises(ModelContractError, match=r"do not match the model: missing 1.bias; unexpected extra; wrong shape 1.weight \(5, 64\) vs \(10, 64\)"):
        load_weights(load_callable_model(f"{model_file}:build_model"), tmp_path / "w.pt")


def test_pickled_module_refused(tmp_path, model_file):
    torch.save(load_callable_model(f"{model_file}:build_model"), tmp_path / "whole.pt")
    with pytest.raises(ModelContractError, match=r"cannot be read with torch.load\(weights_only=True\).*never runs"):
        load_weights(load_callable_model(f"{model_file}:build_model"), tmp_path / "whole.pt")


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
def test_torchscript_recognised(tmp_path, model_file):
    scripted = torch.jit.script(load_callable_model(f"{model_file}:build_model"))
    scripted.save(str(tmp_path / "scripted.pt"))
    with pytest.raises(ModelContractError, match=r"is a TorchScript archive, not a state dict"):
        load_weights(load_callable_model(f"{model_file}:build_model"), tmp_path / "scripted.pt")


def test_contract_checks():
    x = torch.rand(4, 1, 8, 8)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    assert check_contract(model, x, 10).notes == ["the model was in train mode; it was switched to eval mode for the evaluation"]
    assert not model.training
    with pytest.raises(ModelContractError, match=r"expected logits of shape \(4, 3\) for this dataset, got \(4, 10\)"):
        check_contract(model, x, 3)
    with pytest.raises(ModelContractError, match=r"returns probabilities"):
        check_contract(nn.Sequential(model, nn.Softmax(dim=1)).eval(), x, 10)
    with pytest.raises(ModelContractError, match=r"two forward passes on the same inputs differ"):
        check_contract(_Noisy(model).eval(), x, 10)
    with pytest.raises(ModelContractError, match=r"the model failed on inputs of shape \(4, 1, 8, 8\)"):
        check_contract(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)).eval(), x, 10)


class _Noisy(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x) + torch.randn(x.shape[0], 10)


def test_model_file_imports_its_neighbours(tmp_path):
    (tmp_path / "blocks.py").write_text("from torch import nn\n\ndef head():\n    return nn.Linear(64, 10)\n")
    (tmp_path / "net.py").write_text("from torch import nn\nfrom blocks import head\n\ndef build():\n    return nn.Sequential(nn.Flatten(), head())\n")
    assert isinstance(load_callable_model(f"{tmp_path / 'net.py'}:build")[1], nn.Linear)
    (tmp_path / "broken.py").write_text("import lpcbench_missing_helper\n")
    with pytest.raises(ModelContractError, match=r"broken.py failed to import: No module named 'lpcbench_missing_helper'; set PYTHONPATH"):
        load_callable_model(f"{tmp_path / 'broken.py'}:build")


def test_layer_name_close_matches():
    model = nn.Sequential()
    model.add_module("features", nn.Linear(2, 2))
    model.add_module("classifier", nn.Linear(2, 2))
    assert isinstance(layer_by_name(model, "features"), nn.Linear)
    with pytest.raises(ModelContractError, match=r"no layer named 'featurs'; close matches: features"):
        layer_by_name(model, "featurs")
    with pytest.raises(ModelContractError, match=r"no layer named 'fc1'; the model's layers are: features, classifier"):
        layer_by_name(model, "fc1")

# Small PyTorch modules for tests/conformance/test_import.lua: inputs of rank 3
# ([N, C, L], Conv1d and MaxPool1d) and rank 2 ([N, F]), through tools/torch-export.
import torch.nn as nn
class Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv1d(2, 3, 3, padding=1)
        self.p = nn.MaxPool1d(2)
        self.f = nn.Flatten()
        self.l = nn.Linear(3 * 4, 5)
    def forward(self, x):
        return self.l(self.f(self.p(nn.functional.relu(self.c(x)))))
class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 4)
        self.b = nn.Linear(4, 3)
    def forward(self, x):
        return self.b(nn.functional.tanh(self.a(x)))

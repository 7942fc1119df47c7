"""PyTorch reference for bench/run: the same character LSTM (or GRU) textgen trains, timed the same way.

One-hot input, stacked nn.LSTM (--cell gru: nn.GRU, as textgen's model.cell=gru), Linear, cross-entropy, Adam,
gradient clipping by value (textgen's training.gradientClip, char-rnn's grad_clip), the corpus cut into `batch`
consecutive streams with the hidden state carried (detached) from minibatch to minibatch, truncated BPTT of `tbptt`
steps. Prints one JSON line.

  python3 torch_lstm.py train --corpus FILE --hidden H --layers L --batch B --tbptt T --iterations N --threads K
  python3 torch_lstm.py sample --corpus FILE --hidden H --layers L --length N --threads K   (batch-1 step loop)
  python3 torch_lstm.py score --corpus FILE --text FILE --hidden H --layers L --threads K    (forward pass over FILE)
  python3 torch_lstm.py gemm --threads K                                                      (best float32 GEMM rate)
  --cell lstm|gru (train, sample, score): the recurrent cell, default lstm
"""
import argparse
import json
import time

import torch
import torch.nn as nn


class CharLSTM(nn.Module):
    def __init__(self, vocab, hidden, layers, cell="lstm"):
        super().__init__()
        self.vocab = vocab
        self.lstm = (nn.LSTM if cell == "lstm" else nn.GRU)(vocab, hidden, layers, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        y, state = self.lstm(x, state)
        return self.out(y), state


def load(path):
    text = open(path, encoding="utf-8").read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    return torch.tensor([index[c] for c in text], dtype=torch.long), len(chars)


def one_hot(ids, vocab):
    return torch.nn.functional.one_hot(ids, vocab).float()


def train(a):
    ids, vocab = load(a.corpus)
    ids = ids[: int(len(ids) * 0.9)]
    torch.manual_seed(1)
    model = CharLSTM(vocab, a.hidden, a.layers, a.cell)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    stream = (len(ids) - 1) // a.batch
    x_all = ids[: stream * a.batch].view(a.batch, stream)
    y_all = ids[1: stream * a.batch + 1].view(a.batch, stream)
    state = None
    seconds = 0.0
    chars = 0
    for it in range(a.iterations):
        k = (it * a.tbptt) % (stream - a.tbptt)
        t0 = time.perf_counter()
        x = one_hot(x_all[:, k:k + a.tbptt], vocab)
        y = y_all[:, k:k + a.tbptt]
        if state is not None:
            state = tuple(s.detach() for s in state) if a.cell == "lstm" else state.detach()  # LSTM (h, c); GRU h
        logits, state = model(x, state)
        loss = loss_fn(logits.reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 5.0)
        opt.step()
        seconds += time.perf_counter() - t0
        chars += a.batch * a.tbptt
    print(json.dumps({"chars_per_second": chars / seconds, "loss": loss.item(), "iterations": a.iterations}))


def sample(a):
    ids, vocab = load(a.corpus)
    torch.manual_seed(1)
    model = CharLSTM(vocab, a.hidden, a.layers, a.cell).eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        x = one_hot(ids[:1].view(1, 1), vocab)
        state = None
        t0 = time.perf_counter()
        for _ in range(a.length):
            logits, state = model(x, state)
            p = torch.softmax(logits[0, -1], dim=0)
            nxt = torch.multinomial(p, 1, generator=gen)
            x = one_hot(nxt.view(1, 1), vocab)
        seconds = time.perf_counter() - t0
    print(json.dumps({"chars_per_second": a.length / seconds}))


def score(a):
    ids, vocab = load(a.corpus)
    chars = sorted(set(open(a.corpus, encoding="utf-8").read()))
    index = {c: i for i, c in enumerate(chars)}
    val = torch.tensor([index[c] for c in open(a.text, encoding="utf-8").read()], dtype=torch.long)
    torch.manual_seed(1)
    model = CharLSTM(vocab, a.hidden, a.layers, a.cell).eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    total = 0.0
    with torch.no_grad():
        state = None
        t0 = time.perf_counter()
        for k in range(0, len(val) - 1, 1024):
            x = one_hot(val[k:k + 1024][: len(val) - 1 - k].view(1, -1), vocab)
            y = val[k + 1:k + 1 + x.shape[1]]
            logits, state = model(x, state)
            total += loss_fn(logits[0], y).item()
        seconds = time.perf_counter() - t0
    print(json.dumps({"chars_per_second": (len(val) - 1) / seconds, "nats": total / (len(val) - 1)}))


def gemm(a):
    best = 0.0
    for n in (256, 512, 1024, 2048):
        x, y = torch.randn(n, n), torch.randn(n, n)
        torch.mm(x, y)
        reps = max(2, int(2e9 / (2 * n ** 3)))
        t0 = time.perf_counter()
        for _ in range(reps):
            torch.mm(x, y)
        best = max(best, 2 * n ** 3 * reps / (time.perf_counter() - t0))
    import os
    # Debian's torch links the generic libblas.so.3; libopenblas0-pthread points that alternative at OpenBLAS
    blas = os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    core = None
    try:  # which of OpenBLAS's kernels run (its own pick for this CPU, or OPENBLAS_CORETYPE's)
        import ctypes
        lib = ctypes.CDLL(blas)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        core = lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        pass
    print(json.dumps({"gflops": best / 1e9, "blas": blas, "core": core}))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["train", "sample", "score", "gemm"])
    p.add_argument("--corpus")
    p.add_argument("--text")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--tbptt", type=int, default=50)
    p.add_argument("--iterations", type=int, default=50)
    p.add_argument("--length", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    {"train": train, "sample": sample, "score": score, "gemm": gemm}[a.mode](a)

"""PyTorch reference for bench/word and bench/gru: the word-level LSTM or GRU (the config's model.cell) textgen trains,
trained the same way, scored the same way.

Everything textgen does is mirrored, so that the two test perplexities differ only by what the implementations do:
- tokens: textgen's word tokenizer (WordVocabulary.java: runs of letters/marks/digits with inner apostrophes, every
  other visible character alone, line breaks as tokens, the literal <unk>), vocabulary = <unk> then the most
  frequent tokens, capped by max_vocabulary / min_count; unknown words of the scored text read as <unk>;
- split: the last validation_fraction of the corpus (Java Math.round) is held out;
- model: Embedding(V, E) without bias -> L x LSTM(H) -> Linear(H, V), initialised as DL4J 1.0.0-M2.1 does
  (Xavier normal with its fan-in/fan-out choices, LSTM forget-gate bias 1, one bias vector per LSTM layer); or
  L x GRU(H) (nn.GRU: gates r, z, n, two bias vectors, every value uniform in +-1/sqrt(H), as textgen's GRU);
- loss: cross-entropy summed over time and averaged over the minibatch (DL4J's MCXENT score), gradients clipped
  element-wise, Adam (with libnd4j's epsilon placement), learning rate on textgen's cosine schedule (0.1% steps) over max_epochs;
- data: batch_size consecutive streams, tbptt_length steps per minibatch, hidden state carried across minibatches,
  reset at every epoch start and, per stream and minibatch, with probability state_reset_probability, drawn from the
  same generator (Java's SplittableRandom seeded from seed, epoch, minibatch) so the same streams reset;
- scoring: the hidden state carried through the whole test file, every token after the first predicted.
Prints one JSON line.

  python3 word_lm.py --corpus valid.txt --test test.txt --config EFFECTIVE_CONFIG.yaml [--threads K] [--init W0.bin]
  python3 word_lm.py ... --init W0.bin --max-iterations N --compare WN.bin     # parity with textgen's N steps
  python3 word_lm.py ... --float64 --init W0.bin --max-iterations N --compare WN.bin   # the same against float64
(W0.bin, WN.bin: bench/DumpParams.java of textgen's initial checkpoint and of its checkpoint after N steps.)
"""
import argparse
import json
import math
import re
import time
import unicodedata
from collections import Counter

import torch
import torch.nn as nn

UNK = "<unk>"


def is_word(c):
    return unicodedata.category(c)[0] in "LMN"


def tokenize(text, lowercase):
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            out.append("\n")
            i += 1
        elif c.isspace():
            i += 1
        elif is_word(c):
            j = i + 1
            while j < n:
                if is_word(text[j]):
                    j += 1
                elif text[j] in "'\u2019" and j + 1 < n and is_word(text[j + 1]):
                    j += 1
                else:
                    break
            out.append(text[i:j].lower() if lowercase else text[i:j])
            i = j
        elif text.startswith(UNK, i):
            out.append(UNK)
            i += len(UNK)
        else:
            out.append(c)
            i += 1
    return out


def read(path):
    # textgen reads strict UTF-8, drops a leading byte-order mark and keeps \r (whitespace to the tokenizer)
    return open(path, encoding="utf-8-sig", newline="").read()


def flat_config(path):
    """The two-level YAML textgen writes (`train --print-config`, config.yaml of a run) as {"section.key": value}."""
    values, section = {}, None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"^(\w+):\s*$", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^\s+(\w+):\s*(.*?)\s*$", line)
        if m and section:
            v = m.group(2).strip("'\"")
            values[section + "." + m.group(1)] = v
    return values


M64 = (1 << 64) - 1


class SplittableRandom:
    """java.util.SplittableRandom(seed).nextDouble(), bit for bit (SplitMix64)."""

    def __init__(self, seed):
        self.seed = seed & M64

    def next_double(self):
        self.seed = (self.seed + 0x9E3779B97F4A7C15) & M64
        z = self.seed
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return ((z ^ (z >> 31)) >> 11) * 2.0 ** -53


def reset_rows(seed, epoch, k, batch, p):
    """Trainer.resetRows: the streams whose carried state restarts at minibatch k of an epoch."""
    rng = SplittableRandom(seed * 0x2545F4914F6CDD1D + epoch * 1_000_003 + k)
    return [b for b in range(batch) if rng.next_double() < p]


class WordRNN(nn.Module):
    """Embedding -> L x cell(H) -> Linear, cell "lstm" (nn.LSTM) or "gru" (nn.GRU), initialised as textgen does."""

    def __init__(self, vocab, emb, hidden, layers, cell="lstm"):
        super().__init__()
        self.cell = cell
        self.emb = nn.Embedding(vocab, emb)
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(emb, hidden, layers)
        self.out = nn.Linear(hidden, vocab)
        with torch.no_grad():
            # DL4J: EmbeddingSequenceLayer Xavier with fanIn 1, fanOut E
            self.emb.weight.normal_(0, math.sqrt(2.0 / (1 + emb)))
            # GRU: textgen's GruParamInitializer draws every value uniform in +-1/sqrt(H), nn.GRU's own default
            for l in range(layers if cell == "lstm" else 0):
                n_in = emb if l == 0 else hidden
                std = math.sqrt(2.0 / (hidden + n_in + hidden))  # LSTMParamInitializer: fanIn = H, fanOut = nIn + H
                getattr(self.rnn, f"weight_ih_l{l}").normal_(0, std)
                getattr(self.rnn, f"weight_hh_l{l}").normal_(0, std)
                b = getattr(self.rnn, f"bias_ih_l{l}")
                b.zero_()
                b[hidden:2 * hidden] = 1.0  # PyTorch gate order i, f, g, o: the forget gate's bias starts at 1
                hh = getattr(self.rnn, f"bias_hh_l{l}")
                hh.zero_()
                hh.requires_grad_(False)  # DL4J has one bias vector per gate
            self.out.weight.normal_(0, math.sqrt(2.0 / (hidden + vocab)))
            self.out.bias.zero_()

    def dl4j_params(self):
        """This model's parameters in DL4J's layout, as bench/DumpParams.java writes them: {(layer, key): array}.
        LSTM: DL4J stores W [nIn, 4H], RW [H, 4H], b [1, 4H] with gate columns (block input, forget, output, input);
        PyTorch's are rows (input, forget, block input, output).
        GRU (textgen's GruParamInitializer): W [nIn, 3H] = weight_ih_l.T, RW [H, 3H] = weight_hh_l.T,
        b [1, 3H] = bias_ih_l, rb [1, 3H] = bias_hh_l; both gate orders are r, z, n, so no reordering."""
        def gates(w):  # PyTorch [4H, n] -> DL4J [n, 4H]
            i, f, g, o = w.detach().chunk(4, 0)
            return torch.cat([g, f, o, i], 0).t()
        out = {(0, "W"): self.emb.weight.detach()}
        for l in range(self.rnn.num_layers):
            w_ih, w_hh = getattr(self.rnn, f"weight_ih_l{l}"), getattr(self.rnn, f"weight_hh_l{l}")
            b_ih, b_hh = getattr(self.rnn, f"bias_ih_l{l}"), getattr(self.rnn, f"bias_hh_l{l}")
            if self.cell == "gru":
                out[(l + 1, "W")] = w_ih.detach().t()
                out[(l + 1, "RW")] = w_hh.detach().t()
                out[(l + 1, "b")] = b_ih.detach().unsqueeze(0)
                out[(l + 1, "rb")] = b_hh.detach().unsqueeze(0)
                continue
            out[(l + 1, "W")] = gates(w_ih)
            out[(l + 1, "RW")] = gates(w_hh)
            out[(l + 1, "b")] = gates((b_ih + b_hh).unsqueeze(1))
        n = self.rnn.num_layers + 1
        out[(n, "W")] = self.out.weight.detach().t()
        out[(n, "b")] = self.out.bias.detach().unsqueeze(0)
        return out

    def load_dl4j(self, params):
        """The inverse of dl4j_params: starts from a textgen checkpoint's weights (bench/DumpParams.java)."""
        def gates(w):  # DL4J [n, 4H] -> PyTorch [4H, n]
            a, f, o, i = w.t().chunk(4, 0)
            return torch.cat([i, f, a, o], 0)
        with torch.no_grad():
            self.emb.weight.copy_(params[(0, "W")])
            for l in range(self.rnn.num_layers):
                if self.cell == "gru":
                    getattr(self.rnn, f"weight_ih_l{l}").copy_(params[(l + 1, "W")].t())
                    getattr(self.rnn, f"weight_hh_l{l}").copy_(params[(l + 1, "RW")].t())
                    getattr(self.rnn, f"bias_ih_l{l}").copy_(params[(l + 1, "b")].squeeze(0))
                    getattr(self.rnn, f"bias_hh_l{l}").copy_(params[(l + 1, "rb")].squeeze(0))
                    continue
                getattr(self.rnn, f"weight_ih_l{l}").copy_(gates(params[(l + 1, "W")]))
                getattr(self.rnn, f"weight_hh_l{l}").copy_(gates(params[(l + 1, "RW")]))
                getattr(self.rnn, f"bias_ih_l{l}").copy_(gates(params[(l + 1, "b")]).squeeze(1))
                getattr(self.rnn, f"bias_hh_l{l}").zero_()
            n = self.rnn.num_layers + 1
            self.out.weight.copy_(params[(n, "W")].t())
            self.out.bias.copy_(params[(n, "b")].squeeze(0))

    def forward(self, x, state=None):
        y, state = self.rnn(self.emb(x), state)
        return self.out(y), state


def read_params(path):
    """bench/DumpParams.java's file: per parameter a line `layer key rows cols`, then rows*cols float32 (LE)."""
    out = {}
    with open(path, "rb") as f:
        while True:
            line = f.readline()
            if not line:
                return out
            layer, key, rows, cols = line.split()
            n = int(rows) * int(cols)
            data = torch.frombuffer(bytearray(f.read(4 * n)), dtype=torch.float32)
            out[(int(layer), key.decode())] = data.reshape(int(rows), int(cols)).clone()


def compare(model, path):
    """Element-wise comparison with a textgen checkpoint's parameters; returns the largest relative difference."""
    theirs, worst = read_params(path), 0.0
    for k, mine in model.dl4j_params().items():
        d = (mine - theirs[k]).abs()
        rel = float(d.max() / theirs[k].abs().max().clamp_min(1e-30))
        worst = max(worst, rel)
        print("  layer %d %-2s max |diff| %.3g (%.3g of max |w|), mean |diff| %.3g" % (k[0], k[1], float(d.max()), rel, float(d.mean())))
    return worst


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--corpus", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--config", required=True, help="textgen's effective config (train --print-config)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--init", help="parity check: start from these weights (bench/DumpParams.java of a textgen checkpoint)")
    p.add_argument("--max-iterations", type=int, default=0, help="stop after this many minibatches, as training.maxIterations")
    p.add_argument("--compare", help="parity check: after training, compare the weights with these and exit")
    p.add_argument("--float64", action="store_true",
                   help="compute in float64: with --compare, how far textgen's float32 steps are from exact arithmetic")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.float64:
        torch.set_default_dtype(torch.float64)
    c = flat_config(a.config)
    lowercase = c["corpus.lowercase"] == "true"
    max_vocab, min_count = int(c["corpus.maxVocabulary"]), int(c["corpus.minCount"])
    E, H, L = int(c["model.embeddingSize"]), int(c["model.hiddenSize"]), int(c["model.layers"])
    B, T = int(c["training.batchSize"]), int(c["training.tbpttLength"])
    lr0, clip, epochs = float(c["training.learningRate"]), float(c["training.gradientClip"]), int(c["training.maxEpochs"])
    cell = c["model.cell"]
    assert c["model.input"] == "embedding" and cell in ("lstm", "gru") and float(c["model.dropout"]) == 0
    assert float(c.get("model.recurrentDropout", 0)) == 0  # weight drop is not mirrored
    assert c["training.sampling"] == "consecutive"
    reset_p, seed = float(c["training.stateResetProbability"]), int(c["training.seed"])
    assert c["training.lrSchedule"] == "cosine" and float(c["training.maxMinutes"]) == 0
    max_iterations = a.max_iterations or int(c["training.maxIterations"])

    words = tokenize(read(a.corpus), lowercase)
    counts = Counter(w for w in words if w != UNK)
    kept = sorted((w for w, k in counts.items() if k >= min_count), key=lambda w: (-counts[w], w))
    itos = [UNK] + kept[: max_vocab - 1 if max_vocab > 0 else None]
    stoi = {w: i for i, w in enumerate(itos)}
    V = len(itos)
    ids = torch.tensor([stoi.get(w, 0) for w in words], dtype=torch.long)
    n_val = int(math.floor(len(ids) * float(c["corpus.validationFraction"]) + 0.5))
    train_ids, val_ids = ids[: len(ids) - n_val], ids[len(ids) - n_val:]

    torch.manual_seed(seed)
    model = WordRNN(V, E, H, L, cell)
    if a.init:
        model.load_dl4j(read_params(a.init))
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.Adam(params, lr=lr0, eps=1e-8)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    stream = (len(train_ids) - 1) // B
    per_epoch = stream // T
    total = epochs * per_epoch if max_iterations <= 0 else min(epochs * per_epoch, max_iterations)
    x_all = torch.stack([train_ids[b * stream: b * stream + stream] for b in range(B)], dim=1)  # [stream, B]
    y_all = torch.stack([train_ids[b * stream + 1: b * stream + stream + 1] for b in range(B)], dim=1)
    it, t0 = 0, time.perf_counter()
    for epoch in range(epochs):
        state = None
        for k in range(per_epoch):
            if it == total:
                break
            progress = math.floor(it / total * 1000 + 1e-9) / 1000
            for g in opt.param_groups:
                g["lr"] = lr0 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
                # libnd4j's Adam adds its epsilon (1e-8) to sqrt(v) before the bias correction, PyTorch's after:
                # the same update when PyTorch's epsilon is 1e-8 / sqrt(1 - beta2^t). It matters early: at step 1 that
                # is 3.2e-7, which damps the first updates of weights whose gradients are ~1e-7 (a parity check found it).
                g["eps"] = 1e-8 / math.sqrt(1 - 0.999 ** (it + 1))
            x, y = x_all[k * T:(k + 1) * T], y_all[k * T:(k + 1) * T]
            if state is not None:
                state = tuple(s.detach() for s in state) if cell == "lstm" else state.detach()  # LSTM (h, c); GRU h
                rows = reset_rows(seed, epoch, k, B, reset_p) if reset_p > 0 else []
                if rows:
                    for s in (state if cell == "lstm" else (state,)):
                        s[:, rows] = 0
            logits, state = model(x, state)
            loss = loss_fn(logits.reshape(-1, V), y.reshape(-1)) / B
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_value_(params, clip)
            opt.step()
            it += 1
    train_seconds = time.perf_counter() - t0
    if a.compare:
        worst = compare(model, a.compare)
        print(json.dumps({"iterations": it, "max_relative_difference": worst}))
        return

    def score(seq, streams):
        """Evaluator.score: `streams` consecutive slices, each fed in chunks of 1,024 with its state carried through."""
        streams = max(1, min(streams, (len(seq) - 1) // 2))
        n = len(seq) // streams
        rows = torch.stack([seq[s * n:(s + 1) * n] for s in range(streams)], dim=1)  # [n, streams]
        model.eval()
        total_nats, state = 0.0, None
        with torch.no_grad():
            for k in range(0, n - 1, 1024):
                x = rows[k: min(k + 1024, n - 1)]
                y = rows[k + 1: k + 1 + x.shape[0]]
                logits, state = model(x, state)
                total_nats += loss_fn(logits.reshape(-1, V), y.reshape(-1)).item()
        return total_nats / (streams * (n - 1))

    test_ids = torch.tensor([stoi.get(w, 0) for w in tokenize(read(a.test), lowercase)], dtype=torch.long)
    val, test = score(val_ids, B), score(test_ids, 1)  # as the trainer validates, and as `textgen perplexity` scores
    print(json.dumps({"vocabulary": V, "train_tokens": len(train_ids), "test_tokens": len(test_ids) - 1,
                      "iterations": it, "epochs": epochs, "train_seconds": train_seconds,
                      "val_nats": val, "test_nats": test, "test_perplexity": math.exp(test),
                      "test_unk_rate": float((test_ids[1:] == 0).float().mean())}))


if __name__ == "__main__":
    main()

"""REINFORCE with an autoregressive GRU controller (Zoph & Le, 2017).

The controller walks the nodes of every stage in index order. At node ``v`` it steps a GRU
(input: the embedding of the previous node's op, plus stage and node embeddings), samples the
node's op from a softmax over the searched ops (when ops are searched), then decides each input
``u < v`` with the anchor attention of Zoph & Le: ``P(u -> v) = sigmoid(a^T tanh(W_p h_u + W_c h_v) + b)``,
``h_u`` being the hidden state at node ``u``. The edge bias ``b`` starts at ``logit(density)``.

After each batch of trained children, the controller takes one Adam step on
``-mean_i (R_i - baseline) * log p(wiring_i)``, R the validation accuracy in [0, 1], and the
baseline is an exponential moving average of past rewards (``baseline_decay``), started at the
first batch's mean reward. Sampling uses a seeded ``torch.Generator``, so the same seed and the
same rewards give the same controller and the same children on the CPU.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import nn

from wiring_lab.search._base import Proposal, Strategy
from wiring_lab.search.space import SearchSpace, Wiring


class Controller(nn.Module):
    """GRU controller over a :class:`SearchSpace`: samples wirings and scores their log-probability."""

    def __init__(self, space: SearchSpace, hidden: int = 64):
        super().__init__()
        self.space = space
        self.n_ops = len(space.ops) if space.ops is not None else 0
        self.token = nn.Embedding(self.n_ops + 1, hidden)  # previous node's op; index 0: start / no op
        self.stage_embed = nn.Embedding(space.stages, hidden)
        self.node_embed = nn.Embedding(space.nodes, hidden)
        self.cell = nn.GRUCell(hidden, hidden)
        self.op_head = nn.Linear(hidden, self.n_ops) if self.n_ops else None
        self.w_prev = nn.Linear(hidden, hidden, bias=False)
        self.w_curr = nn.Linear(hidden, hidden, bias=False)
        self.attend = nn.Linear(hidden, 1, bias=False)
        self.edge_bias = nn.Parameter(torch.tensor(math.log(space.density / (1 - space.density))))

    def _walk(self, wiring: Wiring | None, generator: torch.Generator | None) -> tuple[Wiring, torch.Tensor, list[torch.Tensor]]:
        """Sample (``wiring`` None) or score ``wiring``; returns it, its log-probability, the decision probabilities."""
        space = self.space
        h = torch.zeros(1, self.cell.hidden_size)
        token = torch.zeros(1, dtype=torch.long)
        log_prob = torch.zeros(())
        probs: list[torch.Tensor] = []
        inputs, ops = [], []
        for s in range(space.stages):
            anchors = []  # (1, hidden) projected states of earlier nodes of this stage
            stage_inputs, stage_ops = [], []
            for v in range(space.nodes):
                x = self.token(token) + self.stage_embed(torch.tensor([s])) + self.node_embed(torch.tensor([v]))
                h = self.cell(x, h)
                if self.op_head is not None:
                    p_op = torch.softmax(self.op_head(h)[0], dim=0)  # (n_ops,)
                    if wiring is None:
                        k = int(torch.multinomial(p_op.detach(), 1, generator=generator))
                    else:
                        k = space.ops.index(wiring.ops[s][v])
                    log_prob = log_prob + torch.log(p_op[k])
                    probs.append(p_op)
                    stage_ops.append(space.ops[k])
                    token = torch.tensor([k + 1])
                if v:
                    logits = self.attend(torch.tanh(torch.cat(anchors) + self.w_curr(h)))[:, 0] + self.edge_bias  # (v,)
                    p_edge = torch.sigmoid(logits)
                    if wiring is None:
                        take = torch.rand(v, generator=generator) < p_edge.detach()
                    else:
                        take = torch.zeros(v, dtype=torch.bool)
                        take[list(wiring.inputs[s][v])] = True
                    log_prob = log_prob + torch.where(take, nn.functional.logsigmoid(logits), nn.functional.logsigmoid(-logits)).sum()
                    probs.append(p_edge)
                    stage_inputs.append(tuple(int(u) for u in take.nonzero().flatten().tolist()))
                else:
                    stage_inputs.append(())
                anchors.append(self.w_prev(h))
            inputs.append(tuple(stage_inputs))
            ops.append(tuple(stage_ops))
        out = Wiring(tuple(inputs), tuple(ops) if self.op_head is not None else None) if wiring is None else wiring
        return out, log_prob, probs

    @torch.no_grad()
    def sample(self, generator: torch.Generator | None = None) -> Wiring:
        """One wiring drawn from the controller's distribution."""
        return self._walk(None, generator)[0]

    def log_prob(self, wiring: Wiring) -> torch.Tensor:
        """Log-probability of ``wiring`` (differentiable)."""
        return self._walk(wiring, None)[1]

    @torch.no_grad()
    def decision_probs(self, wiring: Wiring) -> list[torch.Tensor]:
        """Along ``wiring``'s decisions: each node's op distribution and its edge probabilities."""
        return self._walk(wiring, None)[2]


class Reinforce(Strategy):
    """REINFORCE on validation accuracy with a moving-average baseline."""

    name = "reinforce"

    def __init__(self, space: SearchSpace, seed: int, hidden: int = 64, lr: float = 0.005, baseline_decay: float = 0.9):
        if not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1) (got {baseline_decay!r})")
        if not lr > 0:
            raise ValueError(f"controller lr must be positive (got {lr!r})")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.controller = Controller(space, hidden)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=lr)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.baseline: float | None = None
        self.baseline_decay = baseline_decay
        self.updates = 0

    def propose(self, count: int) -> list[Proposal]:
        """``count`` wirings sampled from the controller."""
        return [Proposal(wiring=self.controller.sample(self.generator)) for _ in range(count)]

    def observe(self, proposals: Sequence[Proposal], rewards: Sequence[float]) -> None:
        """One policy-gradient step on the batch, then the baseline moves toward its rewards."""
        rewards = [float(r) for r in rewards]
        if self.baseline is None:
            self.baseline = sum(rewards) / len(rewards)
        loss = torch.zeros(())
        for p, r in zip(proposals, rewards):
            loss = loss - (r - self.baseline) * self.controller.log_prob(p.wiring)
        self.optimizer.zero_grad()
        (loss / len(rewards)).backward()
        self.optimizer.step()
        for r in rewards:
            self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * r
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        """Controller and optimizer tensors, baseline and sampler state (tensors and numbers only)."""
        return {
            "controller": {k: v.detach().clone() for k, v in self.controller.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "baseline": self.baseline,
            "updates": self.updates,
            "generator_state": self.generator.get_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""
        self.controller.load_state_dict(state["controller"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.baseline = state["baseline"]
        self.updates = int(state["updates"])
        self.generator.set_state(state["generator_state"])

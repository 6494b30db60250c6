"""Velocity network training: our mlp estimator vs torchcfm's ConditionalFlowMatcher loop."""
from __future__ import annotations

import torch

import _mlp
from _runner import interleaved, need_peer, ratio_row
from chargen_theory import training
from chargen_theory.training import mlp as network

NAME, ORDER = "mlp_train", 10


def rows(settings):
    cfm = need_peer("torchcfm.conditional_flow_matching", "torchcfm")
    x1, est = _mlp.problem(settings)
    _, epochs, batch = _mlp.sizes(settings)
    n_train = x1.shape[0] - max(1, round(_mlp.HELD_OUT * x1.shape[0]))  # the samples our fit trains on
    data = training.as_tensor(x1[:n_train] / est.scale_)  # the networks' dtype, for both loops
    steps_per_epoch = -(-n_train // batch)

    def peer():
        """torchcfm's training loop as its README writes it, with our network, data, batches, Adam and schedule."""
        generator = torch.Generator().manual_seed(0)
        net = network(3, 2, _mlp.WIDTH, _mlp.DEPTH, "relu", generator)
        matcher = cfm.ConditionalFlowMatcher(sigma=0.0)
        optimizer = torch.optim.Adam(net.parameters(), lr=_mlp.LR)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            for _ in range(epochs):
                perm = torch.randperm(n_train)
                for step in range(steps_per_epoch):
                    y = data[perm[step * batch:(step + 1) * batch]]
                    t, xt, ut = matcher.sample_location_and_conditional_flow(torch.randn_like(y), y)
                    loss = (net(torch.cat([t[:, None], xt], dim=1)) - ut).square().sum(dim=1).mean()
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    schedule.step()

    ours_t, peer_t = interleaved([lambda: _mlp.fit(settings, x1), peer], settings.repeats)
    samples = epochs * n_train
    return [ratio_row(NAME, f"training samples/s: ReLU MLP {_mlp.DEPTH}x{_mlp.WIDTH}, batch {batch}, Adam "
                      f"lr {_mlp.LR:g} + cosine schedule, {epochs} epochs x {steps_per_epoch} steps, "
                      f"{n_train} 8gaussians samples, {training.DTYPE}, {settings.threads} thread(s)", samples / ours_t,
                      samples / peer_t, "samples/s", ">= 1.0x", "torchcfm CFM loop",
                      "ours = the whole fit() (data draws in numpy, held-out loss after every epoch)",
                      profile=lambda: _mlp.fit(settings, x1),
                      why="the network math is identical (backward + linear + Adam are ~85% of either loop); ours "
                          "adds a held-out loss after every epoch, a finiteness check of the loss every step, a "
                          "state_dict copy at every improvement and numpy draws of (t, X0) per epoch. Checking "
                          "finiteness once per epoch and validating every few epochs would close the few percent.")]

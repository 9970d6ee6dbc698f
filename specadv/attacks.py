"""L-infinity attacks on a classifier's dB-spectrogram input: FGSM, BIM, PGD, random sign.

Each attack is a function of ``(model, x, y, eps, ...)`` returning the perturbed
input, as in cleverhans 4 and foolbox 3, batched over the leading dimension and
in the model's own input domain: dB spectrograms ``(batch, F, T)`` are passed
to the model as they are, and ``eps``, ``step`` and ``clip`` are in dB.

SPEC's values are the defaults: ``eps=0.3`` dB for FGSM and BIM, BIM with
``step=0.1`` dB and ``iters=10``. Like the authors (cleverhans ``generate_np``
with no labels and no clip range), the default labels are the model's own
predictions on the clean input (``y=None``, which avoids label leaking) and the
result is not clipped (``clip=None``). Give ``y`` to attack the true labels and
``clip=(-80.0, 0.0)`` to keep the dB values inside the feature's range.

Common behaviour of :func:`fgsm`, :func:`bim` and :func:`pgd`:

- the model is put in eval mode for the attack (dropout off, BatchNorm on its
  running statistics, which are not updated) and every submodule is given back
  its own training flag afterwards, also when the attack raises;
- the gradient is taken with respect to the input only
  (``torch.autograd.grad``): no parameter's ``.grad`` is touched and
  ``requires_grad`` of the parameters is left as it is;
- the loss is the cross-entropy of the logits *summed* over the batch, so a
  segment's gradient does not depend on which other segments share its batch:
  the result is the same for any ``batch_size`` (up to float rounding);
- the computation runs on the model's device; the result has the input's type
  (``torch.Tensor`` or ``numpy.ndarray``, e.g. a memmap of features), dtype and
  device. ``batch_size`` cuts a large input into chunks that go to the device
  one at a time.
"""
from __future__ import annotations

import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from specadv.constants import TOP_DB, WINDOW_SAMPLES

EPS_DB = 0.3
BIM_STEP_DB = 0.1
BIM_ITERS = 10

CLIP_DB = (-TOP_DB, 0.0)  # the range of a top_db=80, ref=max dB feature

__all__ = [
    "EPS_DB", "BIM_STEP_DB", "BIM_ITERS", "ATTACKS", "AttackSpec", "Param", "FGSM", "BIM",
    "PGD", "RANDOM_SIGN", "register_attack", "attack_spec", "attacks_where", "control_name",
    "row_seeds",
    "fgsm", "bim", "pgd", "random_sign",
    "predicted_labels", "cross_entropy_sum", "eval_mode",
    "AttackResult", "attack", "attack_params", "budget_params", "segment_seeds", "CLIP_DB",
    "RoundTrip", "reconstruction_aware",
]

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def cross_entropy_sum(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy of ``logits (batch, n_classes)`` against ``y (batch,)``, summed."""
    return F.cross_entropy(logits, y, reduction="sum")


# --------------------------------------------------------------------------- helpers

@contextmanager
def eval_mode(model: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Put ``model`` in eval mode; give every submodule back its own training flag on exit."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


def _model_device_dtype(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.device, torch.dtype]:
    for t in list(model.parameters()) + list(model.buffers()):
        if torch.is_floating_point(t):
            return t.device, t.dtype
    # a model without floating-point state (e.g. a plain function wrapped in a Module)
    return x.device, x.dtype


def _check_eps(eps: float, name: str = "eps") -> float:
    eps = float(eps)
    if not np.isfinite(eps) or eps < 0:
        raise ValueError(f"{name} must be a finite number >= 0 (in dB), got {eps}")
    return eps


def _check_clip(clip) -> tuple[float, float] | None:
    if clip is None:
        return None
    lo, hi = (float(v) for v in clip)
    if not lo < hi:
        raise ValueError(f"clip must be (lo, hi) with lo < hi, e.g. (-80.0, 0.0) dB; got {clip}")
    return lo, hi


def _check_float(x: torch.Tensor) -> None:
    if not torch.is_floating_point(x):
        raise TypeError(f"the attacked input must be floating point (dB values), got {x.dtype}")


def _clamp(x: torch.Tensor, clip: tuple[float, float] | None) -> torch.Tensor:
    return x if clip is None else x.clamp(clip[0], clip[1])


def _project(x: torch.Tensor, x0: torch.Tensor, eps: float,
             clip: tuple[float, float] | None) -> torch.Tensor:
    # the same order as foolbox 3: into the eps-ball around x0, then into the bounds
    return _clamp(x0 + (x - x0).clamp(-eps, eps), clip)


def _as_labels(y, n: int, device: torch.device) -> torch.Tensor:
    y = torch.as_tensor(np.asarray(y) if not torch.is_tensor(y) else y, device=device)
    if y.ndim != 1 or y.shape[0] != n or y.dtype.is_floating_point or y.dtype == torch.bool:
        raise ValueError(f"y must be integer class labels of shape ({n},), "
                         f"got dtype {y.dtype} and shape {tuple(y.shape)}")
    return y.long()


def _chunks(n: int, batch_size: int | None) -> Iterator[slice]:
    if batch_size is not None and int(batch_size) < 1:
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size}")
    size = n if batch_size is None else int(batch_size)
    for start in range(0, n, max(size, 1)):
        yield slice(start, min(start + size, n))


def _run_chunked(fn: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor], x, y,
                 device: torch.device | None, batch_size: int | None):
    """Apply ``fn(x_chunk, y_chunk)`` on ``device`` chunk by chunk; output like ``x``.

    ``x`` is a tensor or an array (a memmap is read one chunk at a time);
    ``y`` is ``None`` or labels of length ``len(x)``.
    """
    is_numpy = not torch.is_tensor(x)
    if is_numpy:
        x = np.asarray(x) if not isinstance(x, np.ndarray) else x
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"the attacked input must be floating point (dB values), got {x.dtype}")
        out = np.empty(x.shape, dtype=x.dtype)
    else:
        _check_float(x)
        out = torch.empty_like(x)
    if x.ndim < 1 or x.shape[0] == 0:
        return out
    if y is not None:
        y = _as_labels(y, x.shape[0], torch.device("cpu") if device is None else device)
    for sl in _chunks(x.shape[0], batch_size):
        xc = torch.from_numpy(np.ascontiguousarray(x[sl])) if is_numpy else x[sl]
        xc = xc.to(device if device is not None else xc.device)
        res = fn(xc, None if y is None else y[sl])
        if is_numpy:
            out[sl] = res.detach().cpu().numpy()
        else:
            out[sl] = res.detach().to(out.device)
    return out


def _input_grad(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, loss: Loss,
                model_dtype: torch.dtype) -> torch.Tensor:
    """Gradient of ``loss(model(x), y)`` w.r.t. ``x`` only, in ``x``'s dtype."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        value = loss(model(x.to(model_dtype)), y)
        (grad,) = torch.autograd.grad(value, x)
    return grad


def predicted_labels(model: torch.nn.Module, x, batch_size: int | None = None):
    """The model's predicted classes (eval mode), shape ``(batch,)``; the default attack labels.

    Returns a ``torch.long`` tensor on the input's device, or a numpy ``int64``
    array for a numpy input.
    """
    is_numpy = not torch.is_tensor(x)
    xt = x if not is_numpy else np.asarray(x)
    n = xt.shape[0]
    first = xt[:1] if not is_numpy else torch.from_numpy(np.ascontiguousarray(xt[:1]))
    device, dtype = _model_device_dtype(model, first)
    out = []
    with eval_mode(model), torch.no_grad():
        for sl in _chunks(n, batch_size):
            xc = xt[sl] if not is_numpy else torch.from_numpy(np.ascontiguousarray(xt[sl]))
            out.append(model(xc.to(device=device, dtype=dtype)).argmax(dim=-1))
    pred = torch.cat(out) if out else torch.empty(0, dtype=torch.long, device=device)
    return pred.cpu().numpy() if is_numpy else pred.to(x.device)


def _iterate(model: torch.nn.Module, x, y, *, eps: float, step: float, iters: int,
             random_start: bool, clip, generator: torch.Generator | None, loss: Loss,
             batch_size: int | None, row_seeds=None):
    """The shared loop of FGSM (one full step), BIM and PGD."""
    eps, step = _check_eps(eps), _check_eps(step, "step")
    clip = _check_clip(clip)
    if int(iters) != iters or iters < 0:
        raise ValueError(f"iters must be an integer >= 0, got {iters}")
    iters = int(iters)
    first = x[:1] if torch.is_tensor(x) else torch.from_numpy(np.ascontiguousarray(np.asarray(x)[:1]))
    device, model_dtype = _model_device_dtype(model, first)

    done = [0]  # rows attacked so far: the chunks come in order

    def one_chunk(x0: torch.Tensor, yc: torch.Tensor | None) -> torch.Tensor:
        x0 = x0.detach()
        rows = slice(done[0], done[0] + x0.shape[0])
        done[0] = rows.stop
        if yc is None:
            with torch.no_grad():
                yc = model(x0.to(model_dtype)).argmax(dim=-1)
        if random_start:
            seeds = None if row_seeds is None else row_seeds[rows]
            xa = _clamp(x0 + _uniform_like(x0, eps, generator, seeds), clip)
        else:
            xa = x0
        for _ in range(iters):
            grad = _input_grad(model, xa, yc, loss, model_dtype)
            xa = _project(xa + step * grad.sign(), x0, eps, clip)
        return xa

    with eval_mode(model):
        return _run_chunked(one_chunk, x, y, device, batch_size)


def _uniform_like(x: torch.Tensor, eps: float, generator: torch.Generator | None,
                  seeds=None) -> torch.Tensor:
    """Uniform draws in ``[-eps, eps)`` of ``x``'s shape and dtype, on ``x``'s device."""
    u = _draw(x, x.dtype, lambda t, g: t.uniform_(generator=g), generator, seeds)
    return u.mul_(2.0).sub_(1.0).mul_(eps)


def _draw(x: torch.Tensor, dtype: torch.dtype, fill, generator: torch.Generator | None,
          seeds=None) -> torch.Tensor:
    """A tensor of ``x``'s shape and ``dtype`` on ``x``'s device, filled in place by
    ``fill(tensor, generator)``: row by row from a generator per row seeded with ``seeds``
    (on ``x``'s device, so nothing is drawn on the host for a GPU batch), or at once from
    ``generator`` (drawn on its device, then moved)."""
    if seeds is None:
        device = generator.device if generator is not None else x.device
        return fill(torch.empty(x.shape, dtype=dtype, device=device), generator).to(x.device)
    if len(seeds) != x.shape[0]:
        raise ValueError(f"row_seeds: one seed per row needed; got {len(seeds)} for {x.shape[0]} rows")
    out = torch.empty(x.shape, dtype=dtype, device=x.device)
    for row, s in zip(out, seeds):
        fill(row, torch.Generator(device=x.device).manual_seed(int(s)))
    return out


def segment_seeds(seed: int, attack_name: str, segments) -> list[int]:
    """One seed per segment (a dataset row) for the random draws of ``attack_name``.

    Drawn from ``(seed, the attack's name, segment)`` alone, so a segment's random-sign
    pattern or PGD start is the same whatever batch it is attacked in, two segments never
    share one, and registering another attack changes no other attack's draws. The draw is
    made on the batch's device (a CUDA generator draws other, equally random, values than a
    CPU one for the same seed).
    """
    k = zlib.crc32(attack_name.encode())  # the name, never a position in a list
    return [int(np.random.SeedSequence([int(seed), k, int(i)]).generate_state(1)[0])
            for i in np.atleast_1d(segments)]


def row_seeds(seed: int | None, attack_name: str, segments) -> list[int] | None:
    """:func:`segment_seeds` for a seeded attack (random sign, PGD's start) given a seed;
    ``None`` where the attack draws nothing or no seed is set: the one rule every stage
    that attacks uses, so a segment's draw depends neither on its batch nor on the stage."""
    if seed is None or not attack_spec(attack_name).seeded:
        return None
    return segment_seeds(seed, attack_name, segments)


# --------------------------------------------------------------------------- attacks

def fgsm(model: torch.nn.Module, x, y=None, eps: float = EPS_DB, clip=None,
         loss: Loss = cross_entropy_sum, batch_size: int | None = None):
    """Fast Gradient Sign Method: ``x + eps * sign(grad_x loss(model(x), y))``.

    Parameters
    ----------
    model : torch.nn.Module
        Differentiable classifier returning logits ``(batch, n_classes)``.
    x : torch.Tensor or numpy.ndarray, shape (batch, F, T)
        The model's input (dB spectrograms), passed to the model as it is.
    y : array-like of int, shape (batch,), optional
        Labels whose loss is increased. ``None`` (default): the model's own
        predictions on ``x``.
    eps : float
        L-infinity budget in dB (SPEC: 0.3).
    clip : (float, float), optional
        Range the result is clipped to, e.g. ``(-80.0, 0.0)`` dB; ``None``
        (default, as the authors did): unclipped.
    loss : callable
        ``loss(logits, y) -> scalar``; default summed softmax cross-entropy.
    batch_size : int, optional
        Segments per chunk sent to the model's device; ``None``: all at once.

    Returns
    -------
    x_adv : same type, dtype, shape and device as ``x``

    See Also
    --------
    bim, pgd, random_sign, attack

    Examples
    --------
    >>> x_adv = fgsm(model, mel_db, eps=0.3)            # doctest: +SKIP
    >>> (x_adv - mel_db).abs().max()  # 0.3 dB           # doctest: +SKIP
    """
    return _iterate(model, x, y, eps=eps, step=eps, iters=1, random_start=False, clip=clip,
                    generator=None, loss=loss, batch_size=batch_size)


def bim(model: torch.nn.Module, x, y=None, eps: float = EPS_DB, step: float = BIM_STEP_DB,
        iters: int = BIM_ITERS, clip=None, loss: Loss = cross_entropy_sum,
        batch_size: int | None = None):
    """Basic Iterative Method: ``iters`` FGSM steps of ``step`` dB, each projected into the eps-ball.

    After each step ``x_adv = clip(x + clamp(x_adv - x, -eps, eps))``, the order
    of foolbox 3's ``LinfBasicIterativeAttack``; the labels are fixed at the
    start (``y=None``: the predictions on the clean ``x``).

    Parameters
    ----------
    model, x, y, clip, loss, batch_size
        As in :func:`fgsm`.
    eps : float
        L-infinity radius in dB around ``x`` (SPEC: 0.3).
    step : float
        Size of each signed-gradient step in dB (SPEC: 0.1).
    iters : int
        Number of steps (SPEC: 10).

    Returns
    -------
    x_adv : same type, dtype, shape and device as ``x``; ``|x_adv - x| <= eps``.
    """
    return _iterate(model, x, y, eps=eps, step=step, iters=iters, random_start=False, clip=clip,
                    generator=None, loss=loss, batch_size=batch_size)


def pgd(model: torch.nn.Module, x, y=None, eps: float = EPS_DB, step: float = BIM_STEP_DB,
        iters: int = BIM_ITERS, random_start: bool = True, clip=None,
        generator: torch.Generator | None = None, loss: Loss = cross_entropy_sum,
        batch_size: int | None = None, row_seeds=None):
    """Projected Gradient Descent (Madry et al.): BIM from a uniform random start in the eps-ball.

    Parameters
    ----------
    model, x, y, eps, step, iters, clip, loss, batch_size
        As in :func:`bim`.
    random_start : bool
        Start from ``x + U(-eps, eps)`` (clipped); ``False`` makes this :func:`bim`.
    generator : torch.Generator, optional
        Source of the random start, for reproducible results. The noise is
        drawn chunk by chunk, so it depends on ``batch_size``.
    row_seeds : sequence of int, optional
        One seed per row (:func:`segment_seeds`): each row's start is drawn from its own
        generator on the model's device, so it does not depend on ``batch_size``.

    Returns
    -------
    x_adv : same type, dtype, shape and device as ``x``; ``|x_adv - x| <= eps``.
    """
    return _iterate(model, x, y, eps=eps, step=step, iters=iters, random_start=random_start,
                    clip=clip, generator=generator, loss=loss, batch_size=batch_size,
                    row_seeds=None if row_seeds is None else list(row_seeds))


def random_sign(x, eps: float = EPS_DB, clip=None, generator: torch.Generator | None = None,
                row_seeds=None):
    """``x + eps * s`` with an independent random sign ``s = ±1`` per element.

    The noise control of the same L-infinity budget as FGSM: every element moves
    by exactly ``eps`` dB (before ``clip``), like an FGSM perturbation but with
    no gradient information.

    Parameters
    ----------
    x : torch.Tensor or numpy.ndarray
        Any shape, floating point (dB values).
    eps : float
        Magnitude in dB of the change of each element.
    clip : (float, float), optional
        Range the result is clipped to; ``None``: unclipped.
    generator : torch.Generator, optional
        Source of the signs, for reproducible results (the signs are drawn on
        the generator's device).
    row_seeds : sequence of int, optional
        One seed per row (:func:`segment_seeds`): each row's signs come from its own
        generator on ``x``'s device, whatever the batch.

    Returns
    -------
    x_noisy : same type, dtype, shape and device as ``x``
    """
    eps, clip = _check_eps(eps), _check_clip(clip)
    is_numpy = not torch.is_tensor(x)
    xt = torch.from_numpy(np.ascontiguousarray(np.asarray(x))) if is_numpy else x
    _check_float(xt)
    # one byte per element (an int64 draw was 8x the memory and 4-8x the time)
    bits = _draw(xt, torch.int8, lambda t, g: t.random_(0, 2, generator=g), generator,
                 None if row_seeds is None else list(row_seeds))
    signs = bits.to(xt.dtype).mul_(2).sub_(1)
    out = _clamp(torch.add(xt, signs, alpha=eps), clip)  # exactly x +- eps
    return out.numpy() if is_numpy else out


# --------------------------------------------------------------------------- with a record

@dataclass(frozen=True)
class AttackResult:
    """An adversarial (or noise-control) input and what was done to make it.

    Attributes
    ----------
    x_adv : torch.Tensor or numpy.ndarray
        The perturbed input, like the attacked ``x``.
    name : str
        The attack's name in :data:`ATTACKS`.
    eps, step : float
        Budget and step in dB (``step`` is ``eps`` for FGSM, ``None`` for random sign).
    iters : int
        Gradient steps (1 for FGSM, 0 for random sign).
    labels : str or None
        ``"predicted"`` (the model's predictions on the clean input, the
        authors' setting), ``"true"``, or ``None`` for random sign.
    clip : (float, float) or None
        Range the result was clipped to, ``None`` if unclipped.
    random_start : bool
        Whether PGD started from a random point of the ball.
    seed : int or None
        Seed of the generator of PGD's start or of the random signs.
    y : torch.Tensor or numpy.ndarray or None
        The labels whose loss was increased, shape ``(batch,)``.
    """

    x_adv: object = field(repr=False)
    name: str
    eps: float
    step: float | None
    iters: int
    labels: str | None
    clip: tuple[float, float] | None
    random_start: bool = False
    seed: int | None = None
    y: object = field(default=None, repr=False)

    def record(self) -> dict:
        """The settings as a plain dict (no arrays), for a results table or a JSON file."""
        # not dataclasses.asdict, which deep-copies the adversarial batch only to drop it
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("x_adv", "y")}
        d["clip"] = None if self.clip is None else list(self.clip)
        return d


# --------------------------------------------------------------------------- the registry

@dataclass(frozen=True)
class Param:
    """One setting of an attack, as a profile's ``attacks.<name>`` section gives it.

    ``kind`` says what values are allowed: ``"budget"`` and ``"step"`` (a finite number
    >= 0, in the input's units: dB here; a step scales with the budget in a sweep),
    ``"count"`` (a positive integer), ``"flag"`` (true or false).
    """

    name: str
    default: object
    kind: str
    doc: str = ""

    def check(self, value, where: str):
        """``value`` if allowed, as the setting's type; else a ``ValueError`` naming ``where``."""
        bad = None
        if self.kind in ("budget", "step"):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
                bool(np.isfinite(value)) and value >= 0
            bad = None if ok else "a finite number >= 0 (dB)"
            value = float(value) if ok else value
        elif self.kind == "count":
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 1
            bad = None if ok else "a positive integer"
        elif self.kind == "flag":
            bad = None if isinstance(value, bool) else "true or false"
        else:
            raise ValueError(f"unknown kind {self.kind!r} of setting {where}")
        if bad:
            raise ValueError(f"{where} must be {bad}; got {value!r}")
        return value


@dataclass(frozen=True)
class AttackSpec:
    """Everything about one attack (after torchaudio's pipeline bundles): its name, title,
    settings with their defaults and checks, the function, and what it is.

    Parameters
    ----------
    name : the key used everywhere (profile, cache, tables, book).
    title : how the book names it ("BIM").
    run : ``run(model, x, y, *, clip, batch_size, generator, row_seeds, **settings)`` ->
        the perturbed input like ``x``; ``y`` is ``None`` for an attack that does not use
        the model (``uses_model=False``).
    params : its settings (:class:`Param`), the first being the budget.
    norm : the budget's norm ("linf", "l2").
    uses_model : whether it needs the model's gradient (False: a noise control).
    seeded : whether it draws random numbers (given one seed per segment).
    reconstructed : whether its spectrograms are turned into sound (and kept).
    baseline : whether the linear baseline is put under it too.
    control : the same-budget noise that an attack is compared with.
    paper : one of the paper's attacks (every profile runs it).
    description : one line for the book.
    """

    name: str
    title: str
    run: Callable = field(repr=False)
    params: tuple[Param, ...] = ()
    norm: str = "linf"
    uses_model: bool = True
    seeded: bool = False
    reconstructed: bool = False
    baseline: bool = False
    control: bool = False
    paper: bool = False
    description: str = ""

    def defaults(self) -> dict:
        """The settings' defaults, as a profile section."""
        return {p.name: p.default for p in self.params}

    def check(self, section: dict, where: str) -> dict:
        """A profile's section of this attack, complete and checked (errors name ``where``)."""
        unknown = sorted(set(section) - {p.name for p in self.params})
        if unknown:
            raise ValueError(f"{where}: unknown setting(s) {unknown} of attack {self.name!r}; "
                             f"its settings are {[p.name for p in self.params]}")
        return {p.name: p.check(section.get(p.name, p.default), f"{where}.{p.name}")
                for p in self.params}

    def at_budget(self, settings: dict, eps: float) -> dict:
        """``settings`` at budget ``eps``: steps keep the paper's ratio to the budget
        (0.1 dB for 0.3 dB: ``step = eps / 3``)."""
        out = dict(settings)
        for p in self.params:
            if p.kind == "budget":
                out[p.name] = float(eps)
            elif p.kind == "step":
                out[p.name] = float(eps) / 3.0  # the paper's 0.3 dB over its 0.1 dB step
        return out


def _run_fgsm(model, x, y, *, clip, batch_size, generator, row_seeds, eps):
    return fgsm(model, x, y, eps=eps, clip=clip, batch_size=batch_size)


def _run_bim(model, x, y, *, clip, batch_size, generator, row_seeds, eps, step, iters):
    return bim(model, x, y, eps=eps, step=step, iters=iters, clip=clip, batch_size=batch_size)


def _run_pgd(model, x, y, *, clip, batch_size, generator, row_seeds, eps, step, iters,
             random_start):
    return pgd(model, x, y, eps=eps, step=step, iters=iters, random_start=random_start,
               clip=clip, generator=generator, batch_size=batch_size, row_seeds=row_seeds)


def _run_random_sign(model, x, y, *, clip, batch_size, generator, row_seeds, eps):
    return random_sign(x, eps, clip=clip, generator=generator, row_seeds=row_seeds)


_EPS = Param("eps", EPS_DB, "budget", "L-infinity budget (dB)")
_STEP = Param("step", BIM_STEP_DB, "step", "size of each signed-gradient step (dB)")
_ITERS = Param("iters", BIM_ITERS, "count", "gradient steps")

FGSM = AttackSpec("fgsm", "FGSM", _run_fgsm, (_EPS,), reconstructed=True, baseline=True,
                  paper=True, description="one signed-gradient step of the whole budget "
                  "(Goodfellow et al. 2015)")
"""Fast Gradient Sign Method (:func:`fgsm`): the paper's, 0.3 dB."""

BIM = AttackSpec("bim", "BIM", _run_bim, (_EPS, _STEP, _ITERS), reconstructed=True,
                 baseline=True, paper=True, description="iterated signed-gradient steps, "
                 "each projected into the budget (Kurakin et al. 2017)")
"""Basic Iterative Method (:func:`bim`): the paper's, 0.3 dB, 10 steps of 0.1 dB."""

PGD = AttackSpec("pgd", "PGD", _run_pgd,
                 (_EPS, _STEP, _ITERS, Param("random_start", True, "flag",
                                             "start from a uniform point of the ball")),
                 seeded=True, description="BIM from a random start (Madry et al. 2018)")
"""Projected Gradient Descent (:func:`pgd`): BIM from a random start in the ball."""

RANDOM_SIGN = AttackSpec("random_sign", "random sign (control)", _run_random_sign, (_EPS,),
                         uses_model=False, seeded=True, reconstructed=True, control=True,
                         description="every element moved by the whole budget with a random "
                         "sign: the same-budget noise, no gradient")
"""The noise control (:func:`random_sign`): FGSM's budget with random signs."""

ATTACKS: dict[str, AttackSpec] = {s.name: s for s in (FGSM, BIM, PGD, RANDOM_SIGN)}
"""The registry of attacks, by name; :func:`register_attack` adds one."""


def register_attack(spec: AttackSpec) -> AttackSpec:
    """Add ``spec`` to :data:`ATTACKS` (its name must be new): profiles, stages, the
    explorer and the report then know it. Returns ``spec``."""
    if spec.name in ATTACKS or spec.name == "clean":
        raise ValueError(f"an attack named {spec.name!r} exists already")
    if not spec.params or spec.params[0].kind != "budget":
        raise ValueError(f"attack {spec.name!r}: its first setting must be its budget")
    ATTACKS[spec.name] = spec
    return spec


def attack_spec(name: str) -> AttackSpec:
    """The registry entry ``name``, with an error that lists the known ones."""
    try:
        return ATTACKS[name]
    except KeyError:
        raise ValueError(f"unknown attack {name!r}; choose one of {tuple(ATTACKS)}") from None


def attacks_where(**flags: bool) -> tuple[str, ...]:
    """Names of the registered attacks whose flags are as given, in the registry's order
    (``attacks_where(reconstructed=True)``)."""
    return tuple(n for n, s in ATTACKS.items()
                 if all(getattr(s, k) == v for k, v in flags.items()))


def control_name() -> str:
    """The same-budget noise control's name."""
    return attacks_where(control=True)[0]


def attack(model: torch.nn.Module, x, name: str, params: dict | None = None,
           labels: str = "predicted", y_true=None, batch_size: int | None = None,
           row_seeds=None) -> AttackResult:
    """Run the attack ``name`` with ``params`` and return the result with a record of the settings.

    Parameters
    ----------
    model : torch.nn.Module
        The attacked classifier (unused by an attack that does not use the model).
    x : torch.Tensor or numpy.ndarray, shape (batch, F, T)
        Clean input in dB.
    name : a registered attack (:data:`ATTACKS`: "fgsm", "bim", "pgd", "random_sign", ...)
    params : dict, optional
        Its settings (``eps``, ``step``, ``iters``, ``random_start``... as its
        :class:`AttackSpec` lists them), plus ``clip`` (a range, or ``True`` for
        :data:`CLIP_DB`) and ``seed`` (a seeded attack's single generator); missing
        ones take SPEC's defaults. :func:`attack_params` reads them from a profile.
    labels : {"predicted", "true"}
        ``"predicted"``: the model's own predictions on ``x`` (the authors'
        setting); ``"true"``: ``y_true``.
    y_true : array-like of int, shape (batch,), optional
        True labels, required when ``labels="true"``.
    batch_size : int, optional
        Segments per chunk on the model's device.
    row_seeds : sequence of int, optional
        One seed per row for the random draws (random sign, PGD's start), e.g.
        :func:`segment_seeds`; replaces ``seed``'s single generator, so the result
        does not depend on the batch or the chunking (drawn on the device; see
        :func:`segment_seeds`).

    Returns
    -------
    AttackResult
    """
    spec = attack_spec(name.lower())
    params = dict(params or {})
    clip = params.pop("clip", None)
    if isinstance(clip, bool):  # a profile's on/off switch
        clip = CLIP_DB if clip else None
    clip = _check_clip(clip)
    seed = params.pop("seed", None)
    seed = None if seed is None else int(seed)
    settings = spec.check(params, f"attack {spec.name!r}")
    generator = _generator(seed, x) if spec.seeded and row_seeds is None else None
    y = None
    if spec.uses_model:
        if labels == "predicted":
            y = predicted_labels(model, x, batch_size=batch_size)
        elif labels == "true":
            if y_true is None:
                raise ValueError("labels='true' needs y_true, the true class of each segment")
            y = y_true
        else:
            raise ValueError(f"labels must be 'predicted' or 'true', got {labels!r}")
    x_adv = spec.run(model, x, y, clip=clip, batch_size=batch_size, generator=generator,
                     row_seeds=row_seeds, **settings)
    iters = settings.get("iters", 1 if spec.uses_model else 0)
    step = settings.get("step", settings["eps"] if spec.uses_model else None)
    random_start = bool(settings.get("random_start", False))
    drew = spec.seeded and (random_start or "random_start" not in settings)
    return AttackResult(x_adv, spec.name, settings["eps"], step, int(iters),
                        labels if spec.uses_model else None, clip, random_start,
                        seed if drew else None, y)


_FLAT_KEYS = {"fgsm_eps": "fgsm: {eps: ...}", "bim_eps": "bim: {eps: ...}",
              "bim_step": "bim: {step: ...}", "bim_iters": "bim: {iters: ...}",
              "pgd_eps": "pgd: {eps: ...}", "pgd_step": "pgd: {step: ...}",
              "pgd_iters": "pgd: {iters: ...}", "noise_eps": "random_sign: {eps: ...}"}
"""The settings' keys before each attack had a section of its own, and where they went."""


def attack_params(attacks_profile: dict, name: str) -> dict:
    """The :func:`attack` settings of ``name`` from a profile's ``attacks`` section.

    Reads the attack's own section (``attacks.<name>``; its defaults where it is
    missing), ``clip`` and, for a seeded attack, ``seed``; the labels are the
    profile's ``labels`` key.

    Examples
    --------
    >>> attack_params({"bim": {"eps": 0.3, "step": 0.1, "iters": 10}, "clip": False}, "bim")
    {'eps': 0.3, 'step': 0.1, 'iters': 10, 'clip': False}
    """
    spec = attack_spec(name)
    out = {**spec.check(attacks_profile.get(name) or {}, f"attacks.{name}"),
           "clip": attacks_profile.get("clip", None)}
    if spec.seeded and attacks_profile.get("seed") is not None:
        out["seed"] = attacks_profile["seed"]
    return out


def budget_params(attacks_profile: dict, name: str, eps: float) -> dict:
    """:func:`attack_params` of ``name`` at another budget ``eps``, the step scaled with it.

    The iterative attacks keep the paper's ratio of step to budget (0.1 dB for 0.3 dB):
    ``step = eps / 3`` (:meth:`AttackSpec.at_budget`). Used by the eps sweep and the explorer.
    """
    return attack_spec(name).at_budget(attack_params(attacks_profile, name), eps)


def _generator(seed: int | None, x) -> torch.Generator | None:
    if seed is None:
        return None
    # drawn where the batch is: no host draw and copy per batch for a GPU (the draw, and
    # so the noise, is the same for a seed on one device, not across devices)
    device = x.device if torch.is_tensor(x) else torch.device("cpu")
    return torch.Generator(device=device).manual_seed(seed)


# --------------------------------------------------------------------------- reconstruction-aware
class RoundTrip(torch.nn.Module):
    """A 2D CNN seen through the trip to audio: dB spectrogram -> audio -> dB features -> logits.

    The forward pass is differentiable end to end, so an attack on this module takes
    its gradient through the reconstruction (the attacker still uses only the 2D CNN).
    The trip is the representation's own (:attr:`specadv.roundtrip.Representation.differentiable`):

    - the STFT forms: their exact inverses from the original complex STFT
      (``original_stft``: the magnitude's phase kept; the authors' form's clean
      imaginary part put back), the same audio as the reconstruction stage;
    - the Mel: a surrogate of :func:`specadv.reconstruction.mel_to_audio`, whose
      Griffin-Lim from a random phase cannot be differentiated usefully through 32
      momentum iterations: the Mel magnitude, the clamped least-squares solve
      (librosa's pseudo-inverse start), then ``n_iter`` unrolled plain Griffin-Lim
      iterations from ``samples`` random phases. For such a stochastic trip the output is
      the mean of the log-probabilities over the random starts (expectation over
      transformation, Athalye et al. 2018); each forward pass draws new starts unless
      ``fixed_seed``.

    The reconstructed audio's features are computed again (the representation's ``db``,
    ``ref=max`` where it has one, so the audio's level does not matter) and classified by
    ``model``.

    Parameters
    ----------
    rep : a :class:`specadv.roundtrip.Representation`, or its name in the registry.
    """

    def __init__(self, model: torch.nn.Module, rep, original_stft: torch.Tensor | None = None,
                 length: int = WINDOW_SAMPLES, n_iter: int = 4, samples: int = 2, seed: int = 0,
                 fixed_seed: bool = False):
        super().__init__()
        from specadv.roundtrip import representation

        r = representation(rep) if isinstance(rep, str) else rep
        if r.differentiable is None:
            raise ValueError(f"representation {r.name!r} has no differentiable inverse")
        if n_iter < 0 or samples < 1:
            raise ValueError(f"n_iter must be >= 0 and samples >= 1 (got {n_iter}, {samples})")
        if original_stft is None and r.needs_stft:
            raise ValueError(f"the {r.title} round trip needs the original complex STFT "
                             "(specadv.features.stft of the original audio): original_stft=")
        self.model, self.rep, self.length = model, r, int(length)
        self.original_stft = original_stft
        self.n_iter, self.samples, self.seed, self.fixed_seed = int(n_iter), int(samples), int(seed), \
            bool(fixed_seed)
        self._calls = 0

    def audio(self, x_db: torch.Tensor, k: int = 0) -> torch.Tensor:
        """The (differentiable) reconstruction of ``x_db``; ``k``: which random start."""
        seed = self.seed + k + (0 if self.fixed_seed else self._calls * self.samples)
        return self.rep.differentiable(x_db, self.original_stft, self.length, self.n_iter, seed)

    def forward(self, x_db: torch.Tensor) -> torch.Tensor:
        draws = self.samples if self.rep.stochastic else 1
        logp = sum(torch.log_softmax(self.model(self.rep.db(self.audio(x_db, k)).to(x_db.dtype)), 1)
                   for k in range(draws)) / draws
        self._calls += 1
        return logp


def reconstruction_aware(model: torch.nn.Module, x: torch.Tensor, rep: str, y=None,
                         eps: float = EPS_DB, step: float = BIM_STEP_DB, iters: int = BIM_ITERS,
                         original_stft: torch.Tensor | None = None, n_iter: int = 4,
                         samples: int = 2, seed: int = 0, clip=None,
                         length: int = WINDOW_SAMPLES) -> torch.Tensor:
    """BIM whose loss is taken after the round trip to audio (:class:`RoundTrip`).

    The same L-infinity budget, step and iterations as :func:`bim`, on the same 2D CNN:
    only the loss differs, computed on the features re-extracted from the reconstructed
    audio, so the perturbation is made to survive the reconstruction. The labels are the
    2D CNN's predictions on the clean spectrograms (as for :func:`bim`) unless ``y``.

    Parameters
    ----------
    model : the attacked 2D CNN.
    x : tensor ``(batch, F, T)``, dB; the whole batch is attacked at once (the STFT round
        trip needs the batch's original STFT).
    rep : a representation (:class:`specadv.roundtrip.Representation` or its name).
    original_stft : complex tensor ``(batch, 257, T)``: ``features.stft`` of the original
        audio (where the representation's inverse needs it: the STFT forms).
    n_iter, samples, seed : the Mel surrogate's unrolled Griffin-Lim iterations, random
        starts per step, and seed.
    length : samples of the reconstructed audio (110250 for a 5-s segment).

    Returns
    -------
    x_adv : tensor like ``x``, ``|x_adv - x| <= eps``.
    """
    if y is None:
        y = predicted_labels(model, x)
    with eval_mode(model):
        wrapped = RoundTrip(model, rep, original_stft, length=length, n_iter=n_iter,
                            samples=samples, seed=seed)
        return _iterate(wrapped, x, y, eps=eps, step=step, iters=iters, random_start=False,
                        clip=clip, generator=None, loss=_nll_sum, batch_size=None)


def _nll_sum(logp: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of log-probabilities, summed (the cross-entropy of :class:`RoundTrip`)."""
    return F.nll_loss(logp, y, reduction="sum")

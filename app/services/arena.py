"""The blind arena: one prompt to two models drawn from a pool, a vote, then the reveal.

Nothing that names a side's model may reach the person before the vote: the answers come
back together once both have finished (so their order gives nothing away), a side that
failed says only that it failed, and this module logs rounds by number. What is not
hidden is privacy: `privacy_notice` names every host the pool may send the prompt to,
and in private mode the pool keeps only what `may_reach` allows.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from app.backends.base import Backend
from app.core import sensitive, units
from app.core.errors import SensitiveContent, TandemError, UsageError
from app.core.events import CancelToken, Delta, Failed, Finished, Requested
from app.core.messages import ChatMessage, GenerationParams, Role
from app.core.ratings import Comparison, ratings
from app.core.reach import NetworkPolicy
from app.core.stats import AnswerStats
from app.services.chat import CostReference
from app.services.usage import BudgetCheck, MonthlyBudget, estimate_usd
from app.store.history.arena import SIDES, ArenaRounds, BlindRound, RevealedRound, Side
from app.store.ledger import Ledger

if TYPE_CHECKING:
    from app.services.workspace import Workspace

logger = logging.getLogger(__name__)

ON_DEVICE = "on this device"


@dataclass(frozen=True, slots=True)
class Contender:
    """One model of the pool: its spec, its backend, and where it sends a prompt."""

    spec: str
    backend: Backend

    @property
    def host(self) -> str | None:
        provider = getattr(self.backend, "provider", None)
        return None if provider is None else str(provider.host)

    @property
    def base_url(self) -> str | None:
        provider = getattr(self.backend, "provider", None)
        return None if provider is None else str(provider.base_url)

    @property
    def local(self) -> bool:
        return self.host is None


def allowed_pool(contenders: Sequence[Contender], policy: NetworkPolicy) -> list[Contender]:
    """The pool as private mode and the trusted hosts allow it (one rule: `may_reach`)."""
    return [c for c in contenders if c.base_url is None or policy.may_reach(c.base_url).allowed]


def privacy_notice(pool: Sequence[Contender]) -> str:
    """Where this round may send the prompt, said before anything is sent. It names the
    pool's hosts, never which side goes where."""
    hosts = sorted({c.host for c in pool if c.host and c.backend.leaves_device})
    if not hosts:
        return "This round keeps your prompt on this device."
    return f"This round may send your prompt to {', '.join(hosts)}."


def _side_facts(stats: AnswerStats | None) -> dict[str, Any] | None:
    return None if stats is None else stats.to_json()


@dataclass(slots=True)
class _Answer:
    text: str = ""
    stats: AnswerStats | None = None
    error: TandemError | None = None

    @property
    def error_text(self) -> str | None:
        return None if self.error is None else self.error.message


@dataclass(frozen=True, slots=True)
class Reveal:
    """A round after its vote: who was who, and the three facts of each side."""

    round: RevealedRound

    def lines(self) -> list[str]:
        vote = self.round.round.vote
        said = {"left": "you preferred Left", "right": "you preferred Right",
                "tie": "you called it a tie", "bad": "you found both bad"}  # fmt: skip
        out = [f"Round {self.round.round.id}: {said.get(vote or '', 'no vote')}."]
        for name in SIDES:
            side = self.round.side(name)
            stats = AnswerStats.from_json(side.stats) if side.stats else None
            facts = stats.summary_line() if stats else (side.error or "no answer")
            out.append(f"{name.capitalize()}: {side.model} — {facts}")
        return out

    def to_json(self) -> dict[str, Any]:
        return self.round.to_json()


@dataclass(frozen=True, slots=True)
class BoardRow:
    model: str
    rating: float
    low: float
    high: float
    rounds: int
    wins: int
    ties: int  # ties and "both bad"
    losses: int
    mean_time_to_first_token_s: float | None
    mean_tokens_per_s: float | None
    cost_per_round_usd: float | None  # None: no known price
    cost_per_win_usd: float | None
    share_on_device: float

    @property
    def win_rate(self) -> float:
        """Wins over rounds, a tie counted as half."""
        return (self.wins + self.ties / 2) / self.rounds if self.rounds else 0.0

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["win_rate"] = self.win_rate
        return data


@dataclass(frozen=True, slots=True)
class Board:
    rounds: int
    rows: tuple[BoardRow, ...]
    sentence: str

    def to_json(self) -> dict[str, Any]:
        return {
            "rounds": self.rounds,
            "sentence": self.sentence,
            "models": [r.to_json() for r in self.rows],
        }


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _score(vote: str | None, side: str) -> float:
    if vote == side:
        return 1.0
    if vote in ("tie", "bad"):
        return 0.5
    return 0.0


def board(rounds: Sequence[RevealedRound]) -> Board:
    """The personal scoreboard from every voted round."""
    votes = [Comparison(r.left.model, r.right.model, _score(r.round.vote, "left")) for r in rounds]
    per: dict[str, dict[str, list[Any]]] = {}
    for r in rounds:
        for name in SIDES:
            side, score = r.side(name), _score(r.round.vote, name)
            seen = per.setdefault(side.model, {k: [] for k in ("score", "ttft", "tps", "cost",
                                                                 "device")})  # fmt: skip
            stats = AnswerStats.from_json(side.stats) if side.stats else None
            seen["score"].append(score)
            seen["device"].append(side.backend == "local" or bool(stats and stats.privacy
                                                                   == ON_DEVICE))  # fmt: skip
            if stats is not None:
                if stats.time_to_first_token_s is not None:
                    seen["ttft"].append(stats.time_to_first_token_s)
                seen["tps"].append(stats.tokens_per_s)
                cost = 0.0 if stats.backend == "local" else stats.cost_usd
                if cost is not None:
                    seen["cost"].append(cost)
    rows = []
    for rated in ratings(votes):
        seen = per[rated.model]
        wins = sum(1 for s in seen["score"] if s == 1.0)
        ties = sum(1 for s in seen["score"] if s == 0.5)
        played = len(seen["score"])
        spent = sum(seen["cost"]) if seen["cost"] else None
        rows.append(
            BoardRow(
                rated.model, rated.rating, rated.low, rated.high, played, wins, ties,
                played - wins - ties, _mean(seen["ttft"]), _mean(seen["tps"]),
                None if spent is None else spent / len(seen["cost"]),
                None if spent is None or not wins else spent / wins,
                sum(seen["device"]) / played if played else 0.0,
            )
        )  # fmt: skip
    return Board(len(rounds), tuple(rows), sentence(rounds))


def sentence(rounds: Sequence[RevealedRound]) -> str:
    """The one line at the top of the board: how the local model fares against the cloud
    model it met most, and what the cloud answers it matched cost."""
    if not rounds:
        return "No round has been voted on yet."
    met: dict[str, list[tuple[RevealedRound, str, str]]] = {}
    for r in rounds:
        kinds = {name: r.side(name).backend for name in SIDES}
        if sorted(kinds.values()) != ["cloud", "local"]:
            continue
        local = "left" if kinds["left"] == "local" else "right"
        cloud = "right" if local == "left" else "left"
        met.setdefault(r.side(cloud).model, []).append((r, local, cloud))
    if not met:
        return f"Over {len(rounds)} rounds, no local model has met a cloud one yet."
    opponent, played = max(met.items(), key=lambda item: (len(item[1]), item[0]))
    held = [(r, cloud) for r, local, cloud in played if r.round.vote in (local, "tie")]
    costs = [(r.side(cloud).stats or {}).get("cost_usd") for r, cloud in held]
    known = [c for c in costs if isinstance(c, int | float) and not isinstance(c, bool)]
    locals_ = {r.side(local).model for r, local, _ in played}
    who = "your local model" if len(locals_) == 1 else "your local models"
    line = f"Over {len(played)} rounds, {who} tied or beat {opponent} in {len(held)}"
    if not held:
        return line + "."
    if not known:
        return line + f"; the price of those {len(held)} cloud answers is unknown."
    answers = "answer" if len(held) == 1 else "answers"
    cost = units.usd(sum(known))
    partly = "" if len(known) == len(held) else f" ({len(held) - len(known)} at an unknown price)"
    return line + f"; those {len(held)} {answers} would have cost {cost} in the cloud{partly}."


class Arena:
    """Runs rounds, takes votes, keeps the board. The front ends hold one each."""

    def __init__(
        self,
        rounds: ArenaRounds,
        backend_for: Callable[[str], Backend],
        *,
        params: GenerationParams | None = None,
        policy: NetworkPolicy | None = None,
        reference: CostReference | None = None,
        ledger: Ledger | None = None,
        budget: MonthlyBudget | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.rounds = rounds
        self._backend_for = backend_for
        self.params = params or GenerationParams()
        self.policy = policy or NetworkPolicy()
        self.reference = reference
        self.ledger = ledger
        self.budget = budget
        self._rng = rng or random.SystemRandom()

    # ----- before the round

    def pool(self, specs: Sequence[str]) -> list[Contender]:
        """The contenders for `specs` that may be asked now; a usage error when fewer
        than two are left."""
        unique = list(dict.fromkeys(s.strip() for s in specs if s.strip()))
        if len(unique) < 2:
            raise UsageError("The arena needs a pool of at least two different models.")
        contenders = [Contender(spec, self._backend_for(spec)) for spec in unique]
        allowed = allowed_pool(contenders, self.policy)
        if len(allowed) < 2:
            left_out = len(contenders) - len(allowed)
            raise UsageError(
                f"Private mode is on, so {left_out} cloud model(s) of the pool cannot be asked "
                "and fewer than two models are left. Add local models to the pool, or turn "
                "private mode off."
            )
        return allowed

    def check(self, prompt: str, pool: Sequence[Contender]) -> BudgetCheck | None:
        """Raise SensitiveContent when the prompt holds secrets and the pool has a cloud
        model; the budget check when the round may take the month over its budget."""
        if any(c.backend.leaves_device for c in pool):
            findings = sensitive.scan("\n".join([self.params.system_prompt or "", prompt]))
            if findings:
                raise SensitiveContent(
                    f"This prompt holds {sensitive.describe(findings)}, and the pool has a "
                    "cloud model. Remove it from the prompt, or keep the pool to local models."
                )
        if self.budget is None:
            return None
        # The two priciest of the pool: the estimate says nothing of the draw.
        messages = [ChatMessage(Role.USER, prompt)]
        costs = sorted(
            (estimate_usd(self.budget.prices, [c.backend], messages, self.params) for c in pool),
            reverse=True,
        )
        return self.budget.check_estimate(sum(costs[:2]))

    def draw(self, pool: Sequence[Contender]) -> tuple[Contender, Contender]:
        """Two different models of the pool, on random sides."""
        left, right = self._rng.sample(list(pool), 2)
        return left, right

    # ----- the round

    def run(
        self,
        prompt: str,
        pool: Sequence[Contender],
        cancel: CancelToken,
        *,
        over_budget: bool = False,
        on_progress: Callable[[int], None] | None = None,
    ) -> BlindRound:
        """Ask both drawn models and store the round; the blind round once both have
        finished. `on_progress` hears how many answers are done (0, 1, 2), never which."""
        if not prompt.strip():
            raise UsageError("The prompt is empty.")
        budget = self.check(prompt, pool)
        if budget is not None and not over_budget:
            raise budget.error()
        left, right = self.draw(pool)
        drawn = {"left": left, "right": right}
        answers = {name: _Answer() for name in SIDES}
        messages = [ChatMessage(Role.USER, prompt)]
        logger.info("arena: a round started")
        done: queue.Queue[str] = queue.Queue()

        def ask(name: str) -> None:
            try:
                self._ask(drawn[name].backend, messages, cancel, answers[name])
            finally:
                done.put(name)

        both_local = left.local and right.local
        if both_local:  # one engine: one after the other
            for name in SIDES:
                ask(name)
                if on_progress:
                    on_progress(SIDES.index(name) + 1)
        else:
            for name in SIDES:
                threading.Thread(target=ask, args=(name,), daemon=True).start()
            for n in (1, 2):
                done.get()
                if on_progress:
                    on_progress(n)
        sides = [
            Side(
                name, drawn[name].backend.name, "local" if drawn[name].local else "cloud",
                drawn[name].host, _side_facts(answers[name].stats), answers[name].error_text,
            )
            for name in SIDES
        ]  # fmt: skip
        round_id = self.rounds.add(
            prompt,
            {name: answers[name].text for name in SIDES},
            {name: answers[name].error is not None and answers[name].stats is None
             for name in SIDES},
            sides,
        )  # fmt: skip
        logger.info("arena: round %d finished", round_id)
        return self.rounds.blind(round_id)

    def _ask(
        self,
        backend: Backend,
        messages: list[ChatMessage],
        cancel: CancelToken,
        answer: _Answer,
    ) -> None:
        try:
            for event in backend.stream(messages, self.params, cancel):
                if isinstance(event, Requested):
                    if self.ledger is not None:
                        self.ledger.append(event.record())
                elif isinstance(event, Delta) and not event.reasoning:
                    answer.text += event.text
                elif isinstance(event, Finished):
                    stats = event.stats
                    if stats.backend == "local" and self.reference is not None:
                        stats = self.reference.equivalent(stats)
                    answer.stats = replace(stats)
                elif isinstance(event, Failed):
                    answer.error = event.error
        except Exception as exc:  # a backend that broke its contract: this side failed
            logger.exception("arena: one side failed unexpectedly")
            answer.error = TandemError(f"The answer failed unexpectedly ({type(exc).__name__}).")

    # ----- after the round

    def vote(self, round_id: int, vote: str) -> Reveal:
        return Reveal(self.rounds.vote(round_id, vote))

    def reveal(self, round_id: int) -> Reveal:
        return Reveal(self.rounds.reveal(round_id))

    def board(self) -> Board:
        return board(self.rounds.revealed())


@dataclass(frozen=True, slots=True)
class Candidate:
    """A model the person may put in the pool; `refusal` says why it cannot be asked now."""

    spec: str
    where: str  # "this device" or the host
    refusal: str = ""


def candidates(workspace: Workspace) -> list[Candidate]:
    """Every installed local model and each provider's default model, for the pool."""
    from app.library.installed import list_installed

    found = [Candidate(f"local:{m.id}", "this device") for m in
             list_installed(workspace.paths.models_dir)]  # fmt: skip
    policy = workspace.network_policy()
    for provider in workspace.providers():
        if provider.default_model:
            reach = policy.may_reach(provider.base_url)
            where = "this device" if provider.on_device else provider.host
            spec = f"{provider.name}:{provider.default_model}"
            found.append(Candidate(spec, where, "" if reach.allowed else reach.reason))
    return found


def open_arena(workspace: Workspace, params: GenerationParams | None = None) -> Arena:
    """The arena over a workspace's history, backends, privacy policy, prices and ledger."""
    return Arena(
        ArenaRounds(workspace.paths.history_db),
        workspace.backend_for,
        params=params or workspace.settings.generation,
        policy=workspace.network_policy(),
        reference=CostReference(workspace.prices, workspace.settings.reference_cloud_model),
        ledger=workspace.ledger,
        budget=workspace.budget(),
    )

"""The server's half of Telegram's two-step password check (SRP over the 2048-bit
group, https://core.telegram.org/api/srp), so the simulated Telegram can ask a login
for its password and verify it without ever receiving it, as Telegram does."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from telethon.password import big_num_for_hash, compute_hash, num_bytes_for_hash, sha256, xor
from telethon.tl import types

# Telegram's SRP group: the 2048-bit safe prime it sends in every password request.
PRIME = bytes.fromhex(
    "c71caeb9c6b1c9048e6c522f70f13f73980d40238e3e21c14934d037563d930f48198a0aa7c14058"
    "229493d22530f4dbfa336f6e0ac925139543aed44cce7c3720fd51f69458705ac68cd4fe6b6b13ab"
    "dc9746512969328454f18faf8c595f642477fe96bb2a941d5bcd1d4ac8cc49880708fa9b378e3c4f"
    "3a9060bee67cf9a4a4a695811051907e162753b56b0f6b410dba74d8a84b2a14b3144e0ef1284754"
    "fd17ed950d5965b4b9dd46582db1178d169c6bc465b0d6ff9ca3928fef5b9ae4e418fc15e83ebea0"
    "f87fa9ff5eed70050ded2849f47bf959d956850ce929851f0d8115f635b105ee2e4e15d04b2454bf"
    "6f4fadf034b10403119cd8e3b92fcc5b")
G = 3


@dataclass
class TwoStepPassword:
    """An account's password as the server keeps it: salts and the verifier only."""

    algo: types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow
    verifier: int                               # g ^ x mod p
    challenges: dict[int, int] = field(default_factory=dict)   # srp_id -> secret b

    @classmethod
    def set(cls, password: str) -> TwoStepPassword:
        algo = types.PasswordKdfAlgoSHA256SHA256PBKDF2HMACSHA512iter100000SHA256ModPow(
            salt1=os.urandom(32), salt2=os.urandom(32), g=G, p=PRIME)
        x = int.from_bytes(compute_hash(algo, password), "big")
        return cls(algo, pow(G, x, int.from_bytes(PRIME, "big")))

    def _k(self) -> int:
        return int.from_bytes(sha256(num_bytes_for_hash(PRIME), big_num_for_hash(G)), "big")

    def challenge(self) -> types.account.Password:
        """``account.getPassword``: the algorithm and a fresh server public value B."""
        p = int.from_bytes(PRIME, "big")
        b = int.from_bytes(os.urandom(256), "big") % p
        srp_b = (self._k() * self.verifier + pow(G, b, p)) % p
        srp_id = int.from_bytes(os.urandom(8), "big", signed=True)
        self.challenges[srp_id] = b
        return types.account.Password(
            new_algo=types.PasswordKdfAlgoUnknown(),
            new_secure_algo=types.SecurePasswordKdfAlgoUnknown(),
            secure_random=os.urandom(32), has_password=True, current_algo=self.algo,
            srp_B=srp_b.to_bytes(256, "big"), srp_id=srp_id)

    def check(self, given: types.InputCheckPasswordSRP) -> bool:
        """``auth.checkPassword``: whether the client's proof M1 matches the password."""
        b = self.challenges.pop(given.srp_id, None)
        if b is None:
            return False
        p = int.from_bytes(PRIME, "big")
        a = int.from_bytes(given.A, "big")
        if not 0 < a < p:
            return False
        srp_b = (self._k() * self.verifier + pow(G, b, p)) % p
        a_bytes, b_bytes = big_num_for_hash(a), big_num_for_hash(srp_b)
        u = int.from_bytes(sha256(a_bytes, b_bytes), "big")
        s = pow(a * pow(self.verifier, u, p) % p, b, p)
        k = sha256(big_num_for_hash(s))
        m1 = sha256(xor(sha256(num_bytes_for_hash(PRIME)), sha256(big_num_for_hash(G))),
                    sha256(self.algo.salt1), sha256(self.algo.salt2), a_bytes, b_bytes, k)
        return m1 == given.M1

// Checks what the hardened.nats modules produce with the NATS JavaScript libraries
// (@nats-io/jwt and @nats-io/nkeys), independently of the Python code that made it.
//
// usage: node verify.mjs MANIFEST.json
//
// MANIFEST = {
//   "tokens":   [{"label", "jwt", "type", "subject", "issuer", "chain_parent"?, "expect"?}],
//   "creds":    [{"label", "path", "subject"}],
//   "keys":     [{"label", "seed_file", "public_key", "type"}],
//   "tampered": [{"label", "jwt"}]
// }
// Prints a JSON summary and exits 0 when every check passed, 1 otherwise.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as jwtlib from "@nats-io/jwt";
import * as nkeys from "@nats-io/nkeys";

const HEADER = '{"typ":"JWT","alg":"ed25519-nkey"}';
const STANDARD_CLAIMS = ["aud", "exp", "jti", "iat", "iss", "name", "nbf", "sub"];
const te = new TextEncoder();
const failures = [];
const counts = { tokens: 0, creds: 0, keys: 0, tampered: 0 };

function fail(label, message) {
  failures.push(`${label}: ${message}`);
}

function b64urlDecode(text) {
  return Buffer.from(text, "base64url");
}

function base32NoPad(bytes) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) {
    out += alphabet[(value << (5 - bits)) & 31];
  }
  return out;
}

// jti as nats-io/jwt v2 computes it: SHA-512/256 over the JSON of the standard
// claims (Go field order, empty values omitted) with jti empty, base32 without padding.
function expectedJti(claims) {
  const data = {};
  for (const field of STANDARD_CLAIMS) {
    const value = claims[field];
    if (field !== "jti" && value !== undefined && value !== "" && value !== 0) {
      data[field] = value;
    }
  }
  const digest = createHash("sha512-256").update(JSON.stringify(data)).digest();
  return base32NoPad(digest);
}

function subset(expected, actual, path, label) {
  for (const [key, value] of Object.entries(expected)) {
    const here = `${path}.${key}`;
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      if (actual === undefined || actual === null || typeof actual[key] !== "object") {
        fail(label, `${here} missing`);
        continue;
      }
      subset(value, actual[key], here, label);
    } else if (JSON.stringify(actual?.[key]) !== JSON.stringify(value)) {
      fail(label, `${here} is ${JSON.stringify(actual?.[key])}, expected ${JSON.stringify(value)}`);
    }
  }
}

function checkToken(entry, byLabel) {
  const { label, jwt } = entry;
  const parts = jwt.split(".");
  if (parts.length !== 3) {
    fail(label, `${parts.length} parts`);
    return;
  }
  const header = b64urlDecode(parts[0]).toString("utf8");
  if (header !== HEADER) {
    fail(label, `header is ${header}`);
  }
  let claims;
  try {
    claims = jwtlib.decode(jwt); // checks typ/alg and the signature against claims.iss
  } catch (err) {
    fail(label, `@nats-io/jwt decode refused it: ${err.message}`);
    return;
  }
  // the signature again, straight with nkeys
  const issuer = nkeys.fromPublic(claims.iss);
  if (!issuer.verify(te.encode(`${parts[0]}.${parts[1]}`), b64urlDecode(parts[2]))) {
    fail(label, "nkeys verify failed");
  }
  if (claims.nats?.type !== entry.type) fail(label, `nats.type is ${claims.nats?.type}`);
  if (claims.nats?.version !== 2) fail(label, `nats.version is ${claims.nats?.version}`);
  if (claims.sub !== entry.subject) fail(label, `sub is ${claims.sub}`);
  if (claims.iss !== entry.issuer) fail(label, `iss is ${claims.iss}`);
  if (!/^[A-Z2-7]{52}$/.test(claims.jti ?? "")) fail(label, `jti ${claims.jti} is not 52 base32 characters`);
  if (claims.jti !== expectedJti(claims)) fail(label, `jti ${claims.jti} != ${expectedJti(claims)}`);
  if (!Number.isInteger(claims.iat)) fail(label, "iat missing");
  if (entry.type === "operator" && claims.iss !== claims.sub) fail(label, "operator JWT is not self-signed");
  if (entry.chain_parent) {
    const parent = byLabel.get(entry.chain_parent);
    if (!parent) {
      fail(label, `unknown parent ${entry.chain_parent}`);
    } else {
      const pc = jwtlib.decode(parent.jwt);
      const allowed = [pc.sub, ...(pc.nats.signing_keys ?? []).map((k) => (typeof k === "string" ? k : k.key))];
      if (!allowed.includes(claims.iss)) {
        fail(label, `issuer ${claims.iss} is not ${entry.chain_parent} or its signing key`);
      }
      if (entry.type === "user") {
        const account = claims.nats.issuer_account ?? claims.iss;
        if (account !== pc.sub) fail(label, `user belongs to ${account}, not ${pc.sub}`);
        if (claims.iss !== pc.sub && claims.nats.issuer_account !== pc.sub) {
          fail(label, "signed by an account signing key without issuer_account");
        }
      }
    }
  }
  if (entry.expect) subset(entry.expect, claims, "claims", label);
  counts.tokens += 1;
}

async function checkCreds(entry) {
  const { label } = entry;
  const text = readFileSync(entry.path);
  let parsed;
  try {
    parsed = await jwtlib.parseCreds(text);
  } catch (err) {
    fail(label, `parseCreds refused it: ${err.message}`);
    return;
  }
  if (parsed.uc.sub !== entry.subject) fail(label, `creds JWT sub is ${parsed.uc.sub}`);
  const pair = nkeys.fromSeed(te.encode(parsed.key));
  if (pair.getPublicKey() !== entry.subject) fail(label, "creds seed does not match the JWT subject");
  const nonce = te.encode("server-nonce");
  if (!nkeys.fromPublic(entry.subject).verify(nonce, pair.sign(nonce))) fail(label, "creds seed cannot sign a nonce");
  counts.creds += 1;
}

function checkKey(entry) {
  const { label } = entry;
  const seed = readFileSync(entry.seed_file, "utf8").trim();
  let pair;
  try {
    pair = entry.type === "curve" ? nkeys.fromCurveSeed(te.encode(seed)) : nkeys.fromSeed(te.encode(seed));
  } catch (err) {
    fail(label, `nkeys refused the seed: ${err.message}`);
    return;
  }
  if (pair.getPublicKey() !== entry.public_key) fail(label, `public key is ${pair.getPublicKey()}`);
  counts.keys += 1;
}

function checkTampered(entry) {
  try {
    jwtlib.decode(entry.jwt);
    fail(entry.label, "a tampered token was accepted");
  } catch {
    counts.tampered += 1;
  }
}

const manifest = JSON.parse(readFileSync(process.argv[2], "utf8"));
const byLabel = new Map((manifest.tokens ?? []).map((t) => [t.label, t]));
for (const entry of manifest.tokens ?? []) checkToken(entry, byLabel);
for (const entry of manifest.creds ?? []) await checkCreds(entry);
for (const entry of manifest.keys ?? []) checkKey(entry);
for (const entry of manifest.tampered ?? []) checkTampered(entry);

const jwtVersion = typeof jwtlib.Version === "string" ? jwtlib.Version : null;
console.log(JSON.stringify({ ok: failures.length === 0, counts, failures, jwtlib: jwtVersion }));
process.exit(failures.length === 0 ? 0 : 1);

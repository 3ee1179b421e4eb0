// NFR-1: no secret in any log line. Values of fields named like a secret are replaced, and
// secret-looking strings (bearer tokens, PATs, URLs with credentials) are cut wherever they occur.

const SECRET_KEY = /pass|token|secret|code|authorization|cookie|hash|session|challenge|apikey|api_key|digest|recovery/i;
const MASK = "[masked]";

const STRING_PATTERNS: [RegExp, string][] = [
	[/(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, `$1${MASK}`],
	[/qm_(ses|pat)_[A-Za-z0-9_-]+/g, `qm_$1_${MASK}`],
	[/([?&](?:session|token|access_token|code)=)[^&\s"']+/gi, `$1${MASK}`],
	[/(\w+:\/\/[^:@/\s"']*:)[^@/\s"']+@/g, `$1${MASK}@`], // passwords in URLs: user:pass@ and :pass@
	[/\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}/g, MASK], // bcrypt hashes
];

export function maskString(s: string): string {
	let out = s;
	for (const [re, repl] of STRING_PATTERNS) out = out.replace(re, repl);
	return out;
}

export function maskSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
	if (typeof value === "string") return maskString(value);
	if (value === null || typeof value !== "object") return value;
	if (depth > 6 || seen.has(value)) return "[…]";
	seen.add(value);
	try {
		return maskObject(value, depth, seen);
	} finally {
		seen.delete(value); // only cycles are cut, not an object that appears twice
	}
}

function maskObject(value: object, depth: number, seen: WeakSet<object>): unknown {
	if (value instanceof Error) {
		const masked = new Error(maskString(value.message));
		masked.name = value.name;
		masked.stack = value.stack ? maskString(value.stack) : undefined;
		for (const k of ["code", "type", "data"] as const) {
			const v = (value as unknown as Record<string, unknown>)[k];
			if (v !== undefined) (masked as unknown as Record<string, unknown>)[k] = k === "data" ? maskSecrets(v, depth + 1, seen) : v;
		}
		return masked;
	}
	if (value instanceof Date || Buffer.isBuffer(value)) return value;
	if (Array.isArray(value)) return value.map(v => maskSecrets(v, depth + 1, seen));
	const out: Record<string, unknown> = {};
	for (const [k, v] of Object.entries(value)) {
		out[k] = SECRET_KEY.test(k) && v !== null && v !== undefined && typeof v !== "boolean" && typeof v !== "number" ? MASK : maskSecrets(v, depth + 1, seen);
	}
	return out;
}

// TFA-2: secrets at rest are sealed with QM_MASTER_KEY (AES-256-GCM).
import { mkdtempSync, readFileSync, rmSync, statSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { masterKey, open, resetMasterKey, seal } from "../../lib/secretbox";

const saved = { ...process.env };
afterEach(() => {
	process.env = { ...saved };
	resetMasterKey();
});

describe("secretbox", () => {
	it("seals and opens; every seal of the same text differs; the text never shows", () => {
		process.env.QM_MASTER_KEY = Buffer.alloc(32, 1).toString("base64");
		const a = seal("JBSWY3DPEHPK3PXP");
		expect(a).not.toContain("JBSWY3DPEHPK3PXP");
		expect(seal("JBSWY3DPEHPK3PXP")).not.toBe(a);
		expect(open(a)).toBe("JBSWY3DPEHPK3PXP");
	});

	it("refuses a tampered value and a value sealed with another key", () => {
		process.env.QM_MASTER_KEY = Buffer.alloc(32, 1).toString("base64");
		const sealed = seal("secret");
		const parts = sealed.split(".");
		parts[3] = Buffer.from("forged").toString("base64url");
		expect(() => open(parts.join("."))).toThrow();
		process.env.QM_MASTER_KEY = Buffer.alloc(32, 2).toString("base64");
		resetMasterKey();
		expect(() => open(sealed)).toThrow();
	});

	it("generates a key file (owner-only) in embedded mode and keeps using it", () => {
		const dir = mkdtempSync(join(tmpdir(), "qm-key-"));
		try {
			delete process.env.QM_MASTER_KEY;
			delete process.env.TRANSPORTER;
			process.env.DATA_DIR = dir;
			const sealed = seal("kept");
			const file = join(dir, "master.key");
			expect(Buffer.from(readFileSync(file, "utf8").trim(), "base64")).toHaveLength(32);
			expect(statSync(file).mode & 0o777).toBe(0o600);
			resetMasterKey(); // as after a restart
			expect(open(sealed)).toBe("kept");
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});

	it("refuses to run distributed without a key, and a key of the wrong size, naming the variable", () => {
		delete process.env.QM_MASTER_KEY;
		process.env.TRANSPORTER = "nats://127.0.0.1:4222";
		expect(() => masterKey()).toThrow(/QM_MASTER_KEY is required/);
		process.env.QM_MASTER_KEY = Buffer.alloc(16).toString("base64");
		expect(() => masterKey()).toThrow(/QM_MASTER_KEY must be 32 bytes/);
	});
});

// The pieces of ingestion (MTR-1, MTR-2) on their own: reading sample times, the binary form of a
// batch, folding into hours, the memory of ids, and the log of batches that survives a crash.
import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { BatchLog } from "../../services/metering/batch-log";
import { decodeRows, encodeRows, PendingHours, RetiredBatchKeys, SampleIdMemory } from "../../services/metering/pending";
import { checkSample, parseIsoTime, type Sample } from "../../services/metering/samples";

const DAY = 86_400_000;

describe("sample times", () => {
	it("reads every ISO-8601 form a sample may use exactly as Date.parse does", () => {
		let seed = 7;
		const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
		const pad = (n: number, w = 2) => String(n).padStart(w, "0");
		for (let i = 0; i < 5000; i++) {
			const t = new Date(Date.UTC(1970 + rand(131), 0, 1) + rand(366 * DAY));
			const date = `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}T${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}`;
			const seconds = [``, `:${pad(rand(60))}`, `:${pad(rand(60))}.${rand(10)}`, `:${pad(rand(60))}.${pad(rand(1000), 3)}`, `:${pad(rand(60))}.${rand(1e9)}`][
				rand(5)
			];
			const zone = ["Z", `+${pad(rand(24))}:${pad(rand(60))}`, `-${pad(rand(24))}:${pad(rand(60))}`][rand(3)];
			const text = date + (seconds.includes(".") && seconds.length > 13 ? seconds.slice(0, 13) : seconds) + zone;
			expect([text, parseIsoTime(text)]).toEqual([text, Date.parse(text)]);
		}
	});

	it("takes only real dates and times with a zone", () => {
		expect(parseIsoTime("2024-02-29T10:00:00Z")).toBe(Date.parse("2024-02-29T10:00:00Z"));
		for (const bad of [
			"2026-02-29T10:00:00Z", // not a leap year (Date.parse gives 1 March)
			"2026-04-31T10:00:00Z",
			"2026-02-30T00:00:00Z",
			"2026-13-01T00:00:00Z",
			"2026-00-10T00:00:00Z",
			"2026-01-00T00:00:00Z",
			"2026-01-01T24:00:00Z",
			"2026-01-01T23:60:00Z",
			"2026-01-01T23:00:60Z",
			"2026-01-01T23:00:00+25:00",
			"2026-01-01T23:00:00+05:99",
			"2026-01-01T23:00:00", // no zone
			"2026-01-01 23:00:00Z",
			"2026-01-01T23:00:00.Z",
			"2026-01-01T23:00:00.1234567890Z",
			"2026-1-01T23:00:00Z",
			"tomorrow",
			"",
		]) {
			expect([bad, parseIsoTime(bad)]).toEqual([bad, NaN]);
		}
	});

	it("reads again correctly after a cached date and hour (the same prefix, then another)", () => {
		expect(parseIsoTime("2026-11-26T10:59:59Z")).toBe(Date.parse("2026-11-26T10:59:59Z"));
		expect(parseIsoTime("2026-11-26T10:00:00+01:00")).toBe(Date.parse("2026-11-26T10:00:00+01:00"));
		expect(parseIsoTime("2026-11-26T11:00:00Z")).toBe(Date.parse("2026-11-26T11:00:00Z"));
		expect(parseIsoTime("2026-11-26T10:61:00Z")).toBeNaN();
	});

	it("names the field of a malformed sample", () => {
		const now = Date.parse("2026-11-26T10:30:00Z");
		const good = { id: "s-1", envId: "e", nodeId: "n", time: "2026-11-26T10:00:00Z", ramMiB: 1, cpuMHz: 1, diskMB: 1, trafficInMB: 0, trafficOutMB: 0 };
		expect(checkSample({ ...good, id: "a,b" }, 3, now)).toMatchObject({ index: 3, type: "INVALID_SAMPLE", field: "id" });
		expect(checkSample({ ...good, envId: 7 }, 0, now)).toMatchObject({ type: "INVALID_SAMPLE", field: "envId" });
		expect(checkSample({ ...good, nodeId: "" }, 0, now)).toMatchObject({ type: "INVALID_SAMPLE", field: "nodeId" });
		expect(checkSample({ ...good, diskMB: Infinity }, 0, now)).toMatchObject({ field: "diskMB", message: "must be a number" });
		expect(checkSample({ ...good, trafficOutMB: 2e12 }, 0, now)).toMatchObject({ field: "trafficOutMB" });
		expect(checkSample({ ...good, time: "2026-02-30T10:00:00Z" }, 0, now)).toMatchObject({ field: "time" });
		expect(checkSample(good, 0, now)).toEqual({ ...good, time: Date.parse(good.time) });
	});
});

const sample = (i: number, envs = 3, nodes = 7): Sample => ({
	id: `id-${i}`,
	envId: `env-${i % envs}`,
	nodeId: `node-${i % envs}-${i % nodes}`,
	time: Date.UTC(2026, 10, 26, 10) + i * 997,
	ramMiB: (i * 37) % 4096,
	cpuMHz: i / 3,
	diskMB: 1000.5 + i,
	trafficInMB: 0.1 * i,
	trafficOutMB: Math.PI * i,
});

describe("a batch in binary", () => {
	it("gives back every sample exactly, doubles included", () => {
		const list = Array.from({ length: 1000 }, (_, i) => sample(i));
		expect(decodeRows(list.map(s => s.id).join(","), encodeRows(list))).toEqual(list);
		expect(decodeRows("", encodeRows([]))).toEqual([]);
	});

	it("refuses rows that do not match their ids", () => {
		const list = [sample(1), sample(2)];
		expect(() => decodeRows("id-1", encodeRows(list))).toThrow(/does not hold/);
	});
});

describe("samples waiting for their hours", () => {
	it("folds peak RAM, CPU sum and count, peak disk and traffic per node and hour, naming each batch once per hour", () => {
		const p = new PendingHours();
		const hour = Date.UTC(2026, 10, 26, 10);
		const s = (id: string, env: string, node: string, minute: number, ram: number, cpu: number, disk: number, traffic: number): Sample => ({
			id,
			envId: env,
			nodeId: node,
			time: hour + minute * 60_000,
			ramMiB: ram,
			cpuMHz: cpu,
			diskMB: disk,
			trafficInMB: traffic,
			trafficOutMB: 2 * traffic,
		});
		p.add("b1", [
			s("1", "e1", "n1", 1, 100, 10, 5, 1),
			s("2", "e2", "m1", 2, 50, 5, 1, 1),
			s("3", "e1", "n1", 3, 300, 20, 4, 2),
			s("4", "e1", "n1", 61, 1, 1, 1, 1),
		]);
		p.add("b2", [s("5", "e1", "n1", 4, 200, 30, 9, 3)]);
		expect(p.size).toBe(3);
		const hours = p.take();
		expect(p.size).toBe(0);
		const e1 = hours.find(h => h.envId === "e1" && h.hour === hour)!;
		expect(e1.batches).toEqual(["b1", "b2"]);
		expect(e1.nodes.get("n1")).toEqual({ peakRamMiB: 300, cpuSum: 60, cpuCount: 3, peakDiskMB: 9, trafficInMB: 6, trafficOutMB: 12, samples: 3 });
		expect(hours.find(h => h.envId === "e1" && h.hour === hour + 3_600_000)?.batches).toEqual(["b1"]);
		expect(hours.find(h => h.envId === "e2")?.nodes.get("m1")?.samples).toBe(1);
	});
});

describe("the memory of ids", () => {
	const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => `id-${from + i}`);

	it("takes an id once: again in the same list or a later one is a duplicate", () => {
		const m = new SampleIdMemory(36 * DAY, 12 * DAY);
		expect(m.take(["a", "b", "a", "c"], 0)).toMatchObject({ positions: [0, 1, 3], text: "a,b,c" });
		expect(m.take(["c", "d", "b"], 1).positions).toEqual([1]);
		const many = m.take(ids(0, 100_000), 2);
		expect(many.positions.length).toBe(100_000); // through doublings of its table
		expect(m.take(ids(99_990, 20), 3).positions).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
	});

	it("recognises every id taken before while its table grows, a few slots at a time", () => {
		const m = new SampleIdMemory(36 * DAY, 12 * DAY);
		// 65,536 slots at first: it grows at 32,768 ids, 65,536 and 131,072, each time over the next inserts.
		for (let b = 0; b < 150; b++) {
			expect(m.take(ids(b * 1000, 1000), b).positions).toHaveLength(1000);
			const again = [...ids(0, 300), ...ids(b * 1000 - 300, 300), ...ids(b * 1000 + 700, 300)].filter(id => Number(id.slice(3)) >= 0);
			expect(m.take(again, b).positions).toEqual([]);
		}
	});

	it("tells apart ids that share a fingerprint", () => {
		const m = new SampleIdMemory(36 * DAY, 12 * DAY, (_id, out, at) => out.fill(42, at, at + 2));
		expect(m.take(ids(0, 50), 0).positions.length).toBe(50);
		expect(m.take([...ids(40, 20), "id-70", "id-70"], 1).positions).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
	});

	it("frees the ids of a batch that could not be stored", () => {
		const m = new SampleIdMemory(36 * DAY, 12 * DAY);
		m.take(["keep"], 0);
		m.take(["x", "y"], 0).forget();
		expect(m.take(["x", "y", "keep"], 0).positions).toEqual([0, 1]);
	});

	it("remembers an id at least 36 days, and forgets it a generation later", () => {
		const m = new SampleIdMemory(36 * DAY, 12 * DAY);
		m.take(["old"], 0);
		for (let day = 1; day <= 47; day++) {
			m.take([`day-${day}`], day * DAY);
			m.expire(day * DAY);
		}
		expect(m.take(["old", "day-13"], 47 * DAY).positions).toEqual([]); // 47 days on: still known
		m.take(["later"], 48 * DAY);
		m.expire(48 * DAY); // its generation (days 0-12) is now all older than 36 days
		expect(m.take(["old", "day-13"], 48 * DAY).positions).toEqual([0]);
	});
});

describe("the log of batches", () => {
	let dir: string;
	beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "qm-batch-log-"))));
	afterEach(() => rmSync(dir, { recursive: true, force: true }));
	const record = (n: number) => {
		const list = [sample(2 * n), sample(2 * n + 1)];
		return { batch: `b${n}`, createdAt: 1000 + n, ids: list.map(s => s.id).join(","), rows: encodeRows(list) };
	};

	it("gives back, after a crash, every batch not compacted, whole records only", async () => {
		const log = new BatchLog(dir);
		log.load();
		await Promise.all([0, 1, 2].map(n => log.append(record(n))));
		const file = join(dir, readdirSync(dir)[0]);
		const size = statSync(file).size;
		appendFileSync(file, Buffer.from([200, 0, 0, 0, 1, 2, 3])); // a write the crash cut short
		// no close: the process died
		const again = new BatchLog(dir);
		const { ids, open } = again.load();
		expect(ids).toEqual([]);
		expect(open.map(r => [r.batch, r.createdAt, r.ids])).toEqual([0, 1, 2].map(n => [`b${n}`, 1000 + n, record(n).ids]));
		expect(decodeRows(open[1].ids, open[1].rows!)).toEqual([sample(2), sample(3)]);
		expect(statSync(file).size).toBe(size);
	});

	it("keeps only ids once a full file's batches are all done, and drops them when they are older than the memory keeps", async () => {
		const log = new BatchLog(dir, 1); // a new file for every write
		const retired: string[] = [];
		log.onRetired(batches => retired.push(...batches));
		log.load();
		for (const n of [0, 1, 2]) await log.append(record(n));
		log.done(["b0", "b1"]);
		await log.close(); // b2 is still open
		expect(readdirSync(dir).sort()).toEqual(["ids-1-1000.log", "ids-2-1001.log", "open-3.log"]);
		// Compacted, b0 and b1 are never folded again: their keys may leave their hours. b2 may be.
		expect(retired.sort()).toEqual(["b0", "b1"]);

		const again = new BatchLog(dir);
		const { ids, open } = again.load();
		expect(ids.map(r => [r.batch, r.ids, r.rows])).toEqual([
			["b0", record(0).ids, undefined],
			["b1", record(1).ids, undefined],
		]);
		expect(open.map(r => r.batch)).toEqual(["b2"]);
		await again.loaded(); // b2 is in its hours again
		expect(readdirSync(dir).sort()).toEqual(["ids-1-1000.log", "ids-2-1001.log", "ids-3-1002.log"]);
		await again.append(record(3));
		expect(readdirSync(dir)).toContain("open-4.log");

		await again.expire(1001 + 500, 500);
		expect(readdirSync(dir).sort()).toEqual(["ids-3-1002.log", "open-4.log"]);
		await again.close();
	});

	it("keeps nothing on disk in memory mode", async () => {
		const log = new BatchLog(null);
		const retired: string[] = [];
		log.onRetired(batches => retired.push(...batches));
		expect(log.load()).toEqual({ ids: [], open: [] });
		await log.append(record(0));
		log.done(["b0"]);
		expect(retired).toEqual(["b0"]); // nothing to fold again after a restart
		await log.close();
	});
});

describe("batch keys an hour no longer needs", () => {
	const H = Date.UTC(2026, 10, 26, 10);
	it("hands an hour back the retired batches it holds, once, and forgets ended hours", () => {
		const keys = new RetiredBatchKeys();
		keys.wrote("e1:h", H, ["a", "b"], []);
		keys.wrote("e2:h", H, ["b", "c"], []);
		expect(keys.droppable("e1:h")).toEqual([]);
		keys.retire(["a", "b"], H + 60_000);
		expect(keys.droppable("e1:h")).toEqual(["a", "b"]);
		expect(keys.droppable("e2:h")).toEqual(["b"]);
		keys.wrote("e1:h", H, ["d"], ["a", "b"]);
		expect(keys.droppable("e1:h")).toEqual([]);
		keys.retire(["d"], H + 120_000);
		expect(keys.droppable("e1:h")).toEqual(["d"]);
		expect(keys.droppable("unknown:h")).toEqual([]);
		keys.expire(H + 3_600_000 + 2 * 3_600_000, 2 * 3_600_000);
		expect(keys.droppable("e1:h")).toEqual([]); // the hour ended more than two hours ago
		expect(keys.droppable("e2:h")).toEqual([]);
	});
});

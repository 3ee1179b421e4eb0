// The pieces of ingestion (MTR-1, MTR-2) on their own: reading sample times, the binary form of a
// batch, folding into hours, a batch as the store keeps it (and when it is stale), and the batch
// keys an hour may drop.
import { claims, firstOfEachId, openBatch, staleBefore, storedSamples } from "../../services/metering/batches";
import { decodeRows, encodeRows, PendingHours, RetiredBatchKeys } from "../../services/metering/pending";
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

describe("a batch as the store keeps it", () => {
	const T = Date.UTC(2026, 10, 26, 10);
	it("stores its samples open, claims each id 36 days, and gives its samples back while open", () => {
		const list = [sample(1), sample(2)];
		const doc = openBatch("b1", list, new Date(T));
		expect(doc).toMatchObject({ _id: "b1", open: true, ids: "id-1,id-2", createdAt: new Date(T), expiresAt: new Date(T + 7 * DAY) });
		expect(storedSamples(doc)).toEqual(list);
		expect(storedSamples({ ...doc, open: undefined, rows: undefined })).toEqual([]); // closed
		expect(claims("b1", list, new Date(T))).toEqual(list.map(s => ({ _id: s.id, batch: "b1", expiresAt: new Date(T + 36 * DAY) })));
	});

	it("keeps the first sample of each id", () => {
		const [a, b] = [sample(1), sample(2)];
		expect(firstOfEachId([a, b, { ...a, ramMiB: 1 }, b])).toEqual([a, b]);
	});

	it.each([
		["started long ago: open over a minute", T - 3_600_000, T - 60_000],
		["started 10 s ago: open before it started", T - 10_000, T - 10_000],
		["started now", T, T],
	])("calls a batch stale when %s", (_case, startedAt, before) => {
		expect(staleBefore(T, startedAt)).toEqual(new Date(before));
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

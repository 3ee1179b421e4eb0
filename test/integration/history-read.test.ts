// BIL-4: the billing history read from the charge documents a part of the period at a time
// (services/billing/history-read.ts) answers what one pass over every hour answers — hourly rows
// kept at charge time or built for hours charged before they were kept — and refuses an answer
// larger than its row limit with a 422 naming the period.
import { mkdtempSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { Readable } from "stream";
import { text } from "stream/consumers";
import { acquireSqliteFile, releaseSqliteFile } from "../../mixins/sqlite-store";
import { charges } from "../../models/billing";
import type { ChargeDoc } from "../../services/billing/charging";
import { buildHistory, historyCsv, hourRow, type ChargedHour } from "../../services/billing/history";
import { readHistory } from "../../services/billing/history-read";

const H = 3_600_000;
const T0 = Date.UTC(2026, 9, 1);
const DAYS = 20;

function chargedHour(env: number, h: number): ChargedHour {
	return {
		envId: `env-${env}`,
		name: `app ${env}, "quoted"`,
		hour: T0 + h * H,
		rated: {
			nodes: ["cp", "sqldb"].map((layer, n) => ({
				nodeId: `env-${env}-n${n}`,
				layer,
				reservedCloudlets: 2,
				dynamicCloudlets: (h + n) % 5,
				usedCloudlets: 2 + ((h + n) % 5),
				storageGB: `${(h % 7) + 0.5}`,
				trafficGB: "0.000001",
				cost: 1_000 + ((h * 7 + env + n) % 997),
			})),
			options: h % 3 ? [] : [{ name: "ip.v4", quantity: 1, cost: 6_944 }],
		},
	};
}

const dir = mkdtempSync(join(tmpdir(), "qm-history-read-"));
const file = join(dir, "billing.sqlite");
const store = acquireSqliteFile(file, file).collection<ChargeDoc>(charges);
const hours: ChargedHour[] = [];
afterAll(() => {
	releaseSqliteFile(file);
	rmSync(dir, { recursive: true, force: true });
});

beforeAll(async () => {
	for (let h = 0; h < DAYS * 24; h++) {
		for (let env = 0; env < 3; env++) {
			const c = chargedHour(env, h);
			hours.push(c);
			// Hours of env-2 were charged before rows were kept: their row is built when read.
			const doc = { _id: `${c.envId}:${c.hour}`, accountId: "acc", ...c, ...(env === 2 ? {} : { historyRow: hourRow(c) }) };
			await store.insert(doc as unknown as ChargeDoc);
		}
	}
	await store.insert({ _id: "other", accountId: "someone else", ...chargedHour(0, 5) } as unknown as ChargeDoc);
});

const options = (interval: "HOUR" | "DAY" | "WEEK", tzOffsetMinutes = 0) => ({
	from: T0 + 90 * 60_000, // mid-hour: the first interval is cut
	to: T0 + DAYS * 24 * H,
	interval,
	tzOffsetMinutes,
	groupByLayer: false,
});
/** The answer as a client gets it: hourly rows are a stream of text. */
const body = async (answer: unknown) => (answer instanceof Readable ? text(answer) : answer);
const inPeriod = (o: { from: number; to: number }) => hours.filter(h => h.hour >= o.from && h.hour < o.to);

test.each([0, 330, -480])("hourly rows, read in parts, are the bytes of one pass over every hour (offset %i min), JSON and CSV", async tz => {
	const o = options("HOUR", tz);
	const built = buildHistory(inPeriod(o), o);
	expect(await body(await readHistory(store, { accountId: "acc" }, o, false))).toBe(JSON.stringify(built));
	expect(await body(await readHistory(store, { accountId: "acc" }, o, true))).toBe(historyCsv(built));
	// One environment's, and a period with no hours: still the one-pass bytes.
	const one = { ...o, to: T0 + 10 * 24 * H };
	expect(await body(await readHistory(store, { accountId: "acc", envId: "env-1" }, one, false))).toBe(
		JSON.stringify(buildHistory(inPeriod(one).filter(h => h.envId === "env-1"), one)),
	);
	const empty = { ...o, from: T0 + (DAYS + 1) * 24 * H, to: T0 + (DAYS + 40) * 24 * H };
	expect(await body(await readHistory(store, { accountId: "acc" }, empty, true))).toBe(historyCsv(buildHistory([], empty)));
});

test.each(["DAY", "WEEK"] as const)("%s, read in parts, is one pass over every hour", async interval => {
	const o = options(interval, 120);
	expect(await readHistory(store, { accountId: "acc" }, o, false)).toEqual(buildHistory(inPeriod(o), o));
	const one = await readHistory(store, { accountId: "acc", envId: "env-1" }, o, false);
	expect(one).toEqual(
		buildHistory(
			inPeriod(o).filter(h => h.envId === "env-1"),
			o,
		),
	);
});

test("an answer over the row limit is refused with a 422 naming the period", async () => {
	const o = options("HOUR");
	const err = await readHistory(store, { accountId: "acc" }, o, false, 1_000).catch(e => e);
	expect(err).toMatchObject({ code: 422, type: "VALIDATION_ERROR" });
	expect(JSON.stringify(err.data)).toMatch(/"field":"from".*more than 1000 rows/);
	// DAY over the same period holds 3 environments × 20 days: within the limit.
	expect(await readHistory(store, { accountId: "acc" }, options("DAY"), false, 1_000)).toMatchObject({ interval: "DAY" });
});

// MTR-1: the intake of a batch of usage samples — one path on every store. Each sample is checked
// on its own (samples.ts), then against the nodes its environment has or had (`NodeDirectory`);
// a bad one is rejected with a reason and the rest are kept. Then the batch is stored open and
// claims its samples' ids with one insert (`claimBatch`): a unique index decides between
// batches and replicas, so a sample is counted once. Store-taking: no Moleculer.
import { newId } from "../../lib/crypto";
import { TtlCache } from "../../lib/ttl-cache";
import { claims, firstOfEachId, openBatch } from "./batches";
import { checkSample, isRejection, type Rejection, type Sample } from "./samples";
import { closeBatches, type MeteringStores } from "./store";

/** How long node ids of an environment are trusted before asking again (new nodes ask at once). */
const ENV_CACHE_MS = 60_000;

/** One row of `environments.nodesOf`. */
export interface NodesOf {
	envId: string;
	ownerId: string;
	nodeIds: string[];
}

export type NodesQuery = (envIds: string[]) => Promise<NodesOf[]>;

/** The directory's verdicts */
const KNOWN = 1;
const UNKNOWN_NODE = 2;
const UNKNOWN_ENVIRONMENT = 3;

/**
 * The node ids of each environment, cached; the inventory is asked only about an environment
 * not cached or with a node not known yet (added since).
 */
export class NodeDirectory {
	private cache = new TtlCache<string, Set<string>>(ENV_CACHE_MS, 100_000);

	/** Whether each sample's node is known (KNOWN), or its environment (UNKNOWN_NODE) or neither. */
	async verdicts(list: Sample[], nodesOf: NodesQuery): Promise<Uint8Array> {
		const t = Date.now();
		const verdict = new Uint8Array(list.length);
		let ask: Set<string> | null = null;
		let lastEnv = "";
		let nodes: Set<string> | undefined;
		for (let i = 0; i < list.length; i++) {
			const s = list[i];
			if (s.envId !== lastEnv) {
				lastEnv = s.envId; // a batch lists an environment's nodes together, mostly
				nodes = this.cache.get(s.envId, t);
			}
			if (nodes?.has(s.nodeId)) verdict[i] = KNOWN;
			else (ask ??= new Set()).add(s.envId);
		}
		if (!ask) return verdict;
		const envIds = [...ask];
		const asked = new Map<string, Set<string>>();
		for (let i = 0; i < envIds.length; i += 1000) {
			for (const r of await nodesOf(envIds.slice(i, i + 1000))) asked.set(r.envId, new Set(r.nodeIds));
		}
		for (const id of envIds) {
			const found = asked.get(id);
			if (found) this.cache.set(id, found, t);
			else this.cache.delete(id);
		}
		for (let i = 0; i < list.length; i++) {
			if (verdict[i]) continue;
			const found = asked.get(list[i].envId);
			verdict[i] = !found ? UNKNOWN_ENVIRONMENT : found.has(list[i].nodeId) ? KNOWN : UNKNOWN_NODE;
		}
		return verdict;
	}
}

/** The samples of a batch that may be taken, and the rejections of the others (by index). */
export async function checkBatch(list: unknown[], nowMs: number, directory: NodeDirectory, nodesOf: NodesQuery) {
	const rejected: Rejection[] = [];
	const valid: Sample[] = [];
	const indexes: number[] = [];
	for (let i = 0; i < list.length; i++) {
		const s = checkSample(list[i], i, nowMs);
		if (isRejection(s)) rejected.push(s);
		else {
			valid.push(s);
			indexes.push(i);
		}
	}
	const verdict = await directory.verdicts(valid, nodesOf);
	const fresh: Sample[] = [];
	let unknown = false;
	for (let k = 0; k < valid.length; k++) {
		const s = valid[k];
		if (verdict[k] === KNOWN) fresh.push(s);
		else {
			unknown = true;
			rejected.push(
				verdict[k] === UNKNOWN_NODE
					? { index: indexes[k], type: "UNKNOWN_NODE", field: "nodeId", message: `environment ${s.envId} has no node ${s.nodeId}` }
					: { index: indexes[k], type: "UNKNOWN_ENVIRONMENT", field: "envId", message: `no environment ${s.envId}` },
			);
		}
	}
	if (unknown) rejected.sort((a, b) => a.index - b.index);
	return { fresh, rejected };
}

/**
 * MTR-1: the batch is stored open with its new samples, then claims their ids with one insert
 * (a unique index decides between batches and replicas): it took the samples it claimed. A
 * crash at any point leaves it open, to be folded again from what it stored. `inFlight` holds
 * the batch while its samples are on their way into their hours (recovery leaves it alone).
 */
export async function claimBatch(db: MeteringStores, inFlight: Set<string>, list: Sample[], time: Date) {
	const candidates = firstOfEachId(list);
	const batch = newId();
	inFlight.add(batch);
	try {
		// One fsync a batch: the batch is durable with its claims, which follow it in the same
		// database (a crash keeps the batch whenever it keeps a claim). No read first: the
		// unique index answers which ids were claimed before (a resend closes its batch at once).
		await db.ingest_batches.insert(openBatch(batch, candidates, time), { syncWithNext: true });
		const refused = new Set(await db.samples.insertMany(claims(batch, candidates, time)));
		const taken = refused.size ? candidates.filter((_, i) => !refused.has(i)) : candidates;
		if (taken.length) return { batch, taken };
		await closeBatches(db, [batch]);
	} catch (err) {
		inFlight.delete(batch); // left open: a recovery folds what it claimed
		throw err;
	}
	inFlight.delete(batch);
	return null;
}

// Deliveries: recording an event for the endpoints that want it, and trying to send it — at once,
// on schedule (the job), or by hand (redeliver). Store-taking: everything arrives in one
// `DeliveryParams`; no Moleculer.
// Invariants:
// - one delivery per endpoint and event id (unique index): an event heard twice is recorded once;
// - a scheduled try claims its delivery first (one conditional update pushing `nextTryAt` on), so
//   the try at the event, the job and another replica never send the same scheduled try twice; a
//   process that dies mid-try leaves the claim to run out, and the job tries again (at-least-once);
// - `nextTryAt` exists only while the delivery is pending; delivered and failed are final for the
//   schedule, but a redelivery may still turn failed into delivered;
// - the target is checked before every try (DNS may answer otherwise since the endpoint was made).
import { addMs, DAY, MINUTE, now, nowMs } from "../../lib/clock";
import { newId } from "../../lib/crypto";
import type { Doc, Store } from "../../mixins/db.mixin";
import { deliveryHeaders, eventBody, type WebhookEvent } from "./payload";
import { nextTryAt } from "./schedule";
import { sendWebhook, type TryResult } from "./send";
import { checkTarget, type Resolver } from "./target";

export type DeliveryStatus = "pending" | "delivered" | "failed";

export interface EndpointDoc extends Doc {
	url: string;
	events: string[];
	description: string;
	secretSealed: string;
	createdBy: string;
	createdAt: Date;
}

export interface Attempt {
	at: Date;
	/** a redelivery asked for by an administrator (outside the schedule) */
	manual: boolean;
	statusCode?: number;
	error?: string;
	durationMs: number;
}

export interface DeliveryDoc extends Doc {
	endpointId: string;
	eventId: string;
	type: string;
	body: string;
	status: DeliveryStatus;
	/** scheduled tries so far (the backoff counts these, not redeliveries) */
	tries: number;
	attempts: Attempt[];
	nextTryAt?: Date;
	deliveredAt?: Date;
	createdAt: Date;
	expiresAt: Date;
}

export interface DeliveryParams {
	endpoints: Store<EndpointDoc>;
	deliveries: Store<DeliveryDoc>;
	/** QM_WEBHOOKS_ALLOW_PRIVATE, read when asked */
	allowPrivate(): boolean;
	/** the endpoint's signing secret, unsealed */
	secretOf(endpoint: EndpointDoc): string;
	/** tells operators that a delivery was given up (never the URL: it may carry a token) */
	warn(message: string): void;
	send?: typeof sendWebhook;
	resolve?: Resolver;
}

/** Longer than a try can take (send.ts: 5 s), so a claim outlives the try it covers. */
export const CLAIM_MS = MINUTE;
const KEEP_MS = 30 * DAY;

/** Records the event for every endpoint that wants its type; answers the deliveries new to the store. */
export async function recordEvent(p: DeliveryParams, event: WebhookEvent): Promise<DeliveryDoc[]> {
	const endpoints = await p.endpoints.find({ events: event.type });
	if (!endpoints.length) return [];
	const t = now();
	const body = eventBody(event);
	const docs: DeliveryDoc[] = endpoints.map(e => ({
		_id: newId(),
		endpointId: e._id,
		eventId: event.id,
		type: event.type,
		body,
		status: "pending",
		tries: 0,
		attempts: [],
		nextTryAt: t,
		createdAt: t,
		expiresAt: addMs(t, KEEP_MS),
	}));
	const refused = new Set(await p.deliveries.insertMany(docs));
	return docs.filter((_, i) => !refused.has(i));
}

/** Deliveries whose scheduled try is due, oldest first. */
export function dueDeliveries(p: DeliveryParams, limit: number): Promise<DeliveryDoc[]> {
	return p.deliveries.find({ nextTryAt: { $lte: now() } }, { sort: { nextTryAt: 1 }, limit });
}

/** One try of `d` to its endpoint; the endpoint is read now (it may have been deleted). */
async function tryOnce(p: DeliveryParams, d: DeliveryDoc, manual: boolean): Promise<{ attempt: Attempt; ok: boolean } | null> {
	const endpoint = await p.endpoints.findById(d.endpointId);
	if (!endpoint) return null;
	const at = now();
	const check = await checkTarget(endpoint.url, { allowPrivate: p.allowPrivate(), resolve: p.resolve });
	let result: TryResult;
	if (!check.ok) result = { ok: false, error: `refused: url ${check.reason}`, durationMs: 0 };
	else {
		const headers = deliveryHeaders(p.secretOf(endpoint), d.body, { id: d.eventId, type: d.type }, Math.floor(nowMs() / 1000));
		result = await (p.send ?? sendWebhook)(check.url, check.addresses, d.body, headers);
	}
	const attempt: Attempt = { at, manual, durationMs: result.durationMs };
	if (result.statusCode !== undefined) attempt.statusCode = result.statusCode;
	if (result.error !== undefined) attempt.error = result.error;
	return { attempt, ok: result.ok };
}

/**
 * The scheduled try of `d`, if it is still due and no one else took it: claim, try, then
 * delivered, the next try, or failed once the retry window is over. Answers whether it tried.
 */
export async function tryScheduled(p: DeliveryParams, d: DeliveryDoc): Promise<boolean> {
	const claimed = await p.deliveries.updateOne({ _id: d._id, status: "pending", nextTryAt: { $lte: now() } }, { $set: { nextTryAt: addMs(now(), CLAIM_MS) } });
	if (!claimed) return false;
	const tried = await tryOnce(p, claimed, false);
	if (!tried) {
		await p.deliveries.remove({ _id: d._id }); // its endpoint was deleted meanwhile
		return false;
	}
	const { attempt, ok } = tried;
	const next = ok ? null : nextTryAt(new Date(claimed.createdAt), claimed.tries + 1, attempt.at);
	const settle = ok
		? { $set: { status: "delivered", deliveredAt: attempt.at }, $unset: { nextTryAt: true } }
		: next
			? { $set: { nextTryAt: next } }
			: { $set: { status: "failed" }, $unset: { nextTryAt: true } };
	const recorded = { $push: { attempts: attempt }, $inc: { tries: 1 } };
	// A redelivery may have settled it meanwhile: then only the try is recorded.
	const updated = await p.deliveries.updateOne({ _id: d._id, status: "pending" }, { ...settle, ...recorded });
	if (!updated) await p.deliveries.updateOne({ _id: d._id }, recorded);
	else if (updated.status === "failed")
		p.warn(`Webhook delivery ${d._id} (${d.type} ${d.eventId}) to endpoint ${d.endpointId} is given up after ${updated.tries} tries`);
	return true;
}

/**
 * An administrator's redelivery: one try now, the same event id, whatever the status (a failed
 * delivery too). Success makes it delivered; a failure changes neither status nor schedule.
 */
export async function redeliver(p: DeliveryParams, d: DeliveryDoc): Promise<DeliveryDoc | null> {
	const tried = await tryOnce(p, d, true);
	if (!tried) return null;
	const { attempt, ok } = tried;
	const update = ok
		? { $set: { status: "delivered", deliveredAt: attempt.at }, $unset: { nextTryAt: true }, $push: { attempts: attempt } }
		: { $push: { attempts: attempt } };
	return p.deliveries.updateOne({ _id: d._id }, update);
}

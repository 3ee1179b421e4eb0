// A durable work queue over NATS JetStream (ARCHITECTURE.md, "Usage stream"): metering publishes
// closed environment-hours with a message id, billing replicas share one durable pull consumer and
// acknowledge only after their own commit. Delivery is at least once: a crash between commit and
// ack redelivers, and the consumer's idempotency keys make that harmless. Only features of
// nats-server 2.9 are used (no message TTL, no consumer pause), as that is what runs here.
import {
	AckPolicy,
	DeliverPolicy,
	JSONCodec,
	RetentionPolicy,
	StorageType,
	connect,
	nanos,
	type Consumer,
	type ConsumerMessages,
	type JetStreamClient,
	type JetStreamManager,
	type JsMsg,
	type NatsConnection,
	type NatsError,
} from "nats";

export interface QueueLogger {
	info(...args: unknown[]): void;
	warn(...args: unknown[]): void;
	error(...args: unknown[]): void;
}

export interface QueueOptions {
	servers: string;
	stream: string;
	subject: string;
	durable: string;
	logger?: QueueLogger;
	/** deliveries after which a message that keeps failing is terminated (default 20) */
	maxDeliveries?: number;
	/** how long a delivered message may stay unacknowledged before it is delivered again (default 30 s) */
	ackWaitMs?: number;
	/** the stream's duplicate window for message ids (default 2 min, the server's own default) */
	duplicateWindowMs?: number;
}

export interface Delivery<T> {
	msgId: string;
	data: T;
	/** 1 on the first delivery */
	deliveries: number;
}

export type Outcome = "ack" | "retry" | "drop";
export type BatchHandler<T> = (batch: Delivery<T>[]) => Promise<Map<string, Outcome>>;

const DEFAULT_BATCH = 500;
const DEFAULT_EXPIRES_MS = 1000; // the client's minimum; keeps an idle loop and stop() responsive
const MAX_RETRY_DELAY_MS = 30_000;
// Many publishes in flight make publishing fast, but each has its own ack timeout: a bound keeps
// a large backlog from timing out while it is still queued in the client.
const PUBLISH_WINDOW = 1000;
// JetStream API error codes (nats-server errors.json)
const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;

const jc = JSONCodec();

function apiErrCode(err: unknown): number | undefined {
	return (err as NatsError)?.api_error?.err_code;
}

export class JetStreamQueue<T> {
	private readonly opts: Required<Omit<QueueOptions, "logger">>;
	private readonly log: QueueLogger;
	private nc?: NatsConnection;
	private js?: JetStreamClient;
	private jsm?: JetStreamManager;
	private consumer?: Consumer;
	private loop?: Promise<void>;
	private stopping = false;
	private wakeLoop?: () => void;

	constructor(opts: QueueOptions) {
		this.opts = {
			servers: opts.servers,
			stream: opts.stream,
			subject: opts.subject,
			durable: opts.durable,
			maxDeliveries: opts.maxDeliveries ?? 20,
			ackWaitMs: opts.ackWaitMs ?? 30_000,
			duplicateWindowMs: opts.duplicateWindowMs ?? 120_000,
		};
		this.log = opts.logger ?? console;
	}

	async connect(): Promise<void> {
		if (this.nc) return;
		// Reconnect forever: a restart of nats-server must not take billing down with it.
		const nc = await connect({ servers: this.opts.servers, reconnect: true, maxReconnectAttempts: -1, name: `jsq-${this.opts.durable}` });
		try {
			this.nc = nc;
			this.jsm = await nc.jetstreamManager();
			this.js = nc.jetstream();
			await this.ensure();
		} catch (err) {
			this.nc = undefined;
			await nc.close();
			throw err;
		}
	}

	/** Creates the stream and the durable consumer when missing. Replicas may start at the same moment:
	 *  JetStream answers an add with an identical config as a success, and a lost race is settled by
	 *  looking again. */
	private async ensure(): Promise<void> {
		const jsm = this.jsm!;
		const { stream, subject, durable } = this.opts;
		const streamInfo = await jsm.streams.info(stream).catch(err => {
			if (apiErrCode(err) === STREAM_NOT_FOUND) return null;
			throw err;
		});
		if (!streamInfo) {
			await jsm.streams
				.add({
					name: stream,
					subjects: [subject],
					storage: StorageType.File,
					// Acknowledged work is deleted, so the stream holds only the backlog and does not grow forever.
					// One consumer only per subject, which is what a shared durable is.
					retention: RetentionPolicy.Workqueue,
					duplicate_window: nanos(this.opts.duplicateWindowMs),
				})
				.catch(async err => {
					if (!(await jsm.streams.info(stream).catch(() => null))) throw err;
				});
		} else if (!streamInfo.config.subjects?.includes(subject)) {
			await jsm.streams.update(stream, { subjects: [...(streamInfo.config.subjects ?? []), subject] });
		}

		const wanted = {
			durable_name: durable,
			ack_policy: AckPolicy.Explicit,
			deliver_policy: DeliverPolicy.All,
			ack_wait: nanos(this.opts.ackWaitMs),
			// The server's own limit also covers a message that kills its consumer each time (no term() ever runs).
			max_deliver: this.opts.maxDeliveries,
		};
		const consumerInfo = await jsm.consumers.info(stream, durable).catch(err => {
			if (apiErrCode(err) === CONSUMER_NOT_FOUND) return null;
			throw err;
		});
		if (!consumerInfo) {
			await jsm.consumers.add(stream, wanted).catch(async err => {
				if (!(await jsm.consumers.info(stream, durable).catch(() => null))) throw err;
			});
		} else if (consumerInfo.config.ack_wait !== wanted.ack_wait || consumerInfo.config.max_deliver !== wanted.max_deliver) {
			// A deployment changed the settings: the new ones win (2.9 refuses an add with a different config).
			await jsm.consumers.update(stream, durable, { ack_wait: wanted.ack_wait, max_deliver: wanted.max_deliver });
		}
		this.consumer = await this.js!.consumers.get(stream, durable);
	}

	private requireConnected(): void {
		if (!this.nc || !this.js || !this.consumer) throw new Error(`JetStreamQueue ${this.opts.stream}: connect() first`);
	}

	async publish(msgId: string, data: T): Promise<void> {
		this.requireConnected();
		// The message id goes out as the Nats-Msg-Id header; a duplicate inside the window is acknowledged but not stored again.
		await this.js!.publish(this.opts.subject, jc.encode(data), { msgID: msgId });
	}

	async publishMany(items: { msgId: string; data: T }[]): Promise<void> {
		this.requireConnected();
		let next = 0;
		const worker = async () => {
			while (next < items.length) {
				const { msgId, data } = items[next++];
				await this.publish(msgId, data);
			}
		};
		await Promise.all(Array.from({ length: Math.min(PUBLISH_WINDOW, items.length) }, worker));
	}

	/** One pull: fetches up to `max` messages (waiting at most `expiresMs`), hands them to `handler` as one batch,
	 *  then acks, naks (with a growing delay) or terms each by the handler's outcome for its msgId. A handler that
	 *  throws, or leaves a msgId out, means retry. Answers how many were acked. */
	async pull(handler: BatchHandler<T>, max = DEFAULT_BATCH, expiresMs = DEFAULT_EXPIRES_MS): Promise<number> {
		return (await this.pullOnce(handler, max, expiresMs)).acked;
	}

	private async pullOnce(handler: BatchHandler<T>, max: number, expiresMs: number): Promise<{ fetched: number; acked: number }> {
		this.requireConnected();
		const iter: ConsumerMessages = await this.consumer!.fetch({ max_messages: max, expires: Math.max(1000, expiresMs) });
		const msgs: JsMsg[] = [];
		for await (const m of iter) msgs.push(m);
		if (!msgs.length) return { fetched: 0, acked: 0 };

		const batch: Delivery<T>[] = [];
		const inBatch: { m: JsMsg; d: Delivery<T> }[] = [];
		for (const m of msgs) {
			const msgId = m.headers?.get("Nats-Msg-Id") || `${this.opts.stream}:${m.seq}`;
			let data: T;
			try {
				data = jc.decode(m.data) as T;
			} catch (err) {
				// It will never parse: terminate it at once rather than let it come back maxDeliveries times.
				this.log.error(`JetStreamQueue ${this.opts.stream}: dropping message ${msgId} (seq ${m.seq}), not JSON:`, (err as Error).message);
				m.term();
				continue;
			}
			const d = { msgId, data, deliveries: m.info.deliveryCount };
			batch.push(d);
			inBatch.push({ m, d });
		}

		let outcomes: Map<string, Outcome>;
		// A slow batch (a busy database) must not pass ack_wait and be handed to another replica meanwhile;
		// the extension is capped so that a handler that hangs for good still lets its messages go.
		const started = Date.now();
		const keepAlive = setInterval(
			() => {
				if (Date.now() - started < 5 * this.opts.ackWaitMs) for (const { m } of inBatch) m.working();
			},
			Math.max(500, this.opts.ackWaitMs / 2),
		);
		try {
			outcomes = batch.length ? await handler(batch) : new Map();
		} catch (err) {
			this.log.warn(`JetStreamQueue ${this.opts.stream}: handler failed for a batch of ${batch.length}, retrying them:`, (err as Error)?.message ?? err);
			outcomes = new Map();
		} finally {
			clearInterval(keepAlive);
		}

		let acked = 0;
		for (const { m, d } of inBatch) {
			const outcome = outcomes.get(d.msgId) ?? "retry";
			if (outcome === "ack") {
				m.ack();
				acked++;
			} else if (outcome === "drop") {
				this.log.warn(`JetStreamQueue ${this.opts.stream}: handler dropped message ${d.msgId}`);
				m.term();
			} else if (d.deliveries >= this.opts.maxDeliveries) {
				// A poison message must not hold the queue: give up on it loudly.
				this.log.error(`JetStreamQueue ${this.opts.stream}: giving up on message ${d.msgId} after ${d.deliveries} deliveries`);
				m.term();
			} else {
				m.nak(Math.min(MAX_RETRY_DELAY_MS, 500 * d.deliveries));
			}
		}
		// Acks are fire-and-forget; one round trip makes sure they left this process before we say "acked".
		await this.nc!.flush();
		return { fetched: msgs.length, acked };
	}

	/** Pulls until a pull finds nothing (drains what is there now); answers the total acked. Messages
	 *  waiting for a redelivery (ack_wait, nak delay) longer than one pull may be left for later. */
	async drain(handler: BatchHandler<T>, max = DEFAULT_BATCH): Promise<number> {
		let total = 0;
		for (;;) {
			const { fetched, acked } = await this.pullOnce(handler, max, DEFAULT_EXPIRES_MS);
			total += acked;
			if (!fetched) return total;
		}
	}

	/** Runs pull() in the background until stop(). Errors are logged and retried with a growing delay. */
	start(handler: BatchHandler<T>, max = DEFAULT_BATCH): void {
		if (this.loop) throw new Error(`JetStreamQueue ${this.opts.stream}: already started`);
		this.stopping = false;
		this.loop = (async () => {
			let failures = 0;
			while (!this.stopping) {
				try {
					if (!this.consumer) await this.ensure();
					await this.pullOnce(handler, max, DEFAULT_EXPIRES_MS);
					failures = 0;
				} catch (err) {
					failures++;
					const delay = Math.min(MAX_RETRY_DELAY_MS, 250 * 2 ** Math.min(failures, 7));
					this.log.warn(`JetStreamQueue ${this.opts.stream}: pull failed (${failures} in a row), again in ${delay} ms:`, (err as Error)?.message ?? err);
					// Stream or consumer gone (storage wiped, deleted by hand): create them again on the next turn.
					const code = apiErrCode(err);
					if (code === STREAM_NOT_FOUND || code === CONSUMER_NOT_FOUND || /not found|deleted/i.test(String((err as Error)?.message))) this.consumer = undefined;
					await new Promise<void>(resolve => {
						const timer = setTimeout(resolve, delay);
						this.wakeLoop = () => {
							clearTimeout(timer);
							resolve();
						};
					});
					this.wakeLoop = undefined;
				}
			}
		})();
	}

	/** Lets the batch in hand finish (acked as its handler says), then returns. */
	async stop(): Promise<void> {
		this.stopping = true;
		this.wakeLoop?.();
		await this.loop;
		this.loop = undefined;
	}

	/** Messages the durable consumer has not acknowledged yet: not yet delivered plus delivered and awaiting an ack. */
	async pending(): Promise<number> {
		this.requireConnected();
		const info = await this.jsm!.consumers.info(this.opts.stream, this.opts.durable);
		return info.num_pending + info.num_ack_pending;
	}

	async close(): Promise<void> {
		await this.stop();
		const nc = this.nc;
		if (!nc) return;
		this.nc = this.js = this.jsm = this.consumer = undefined;
		if (!nc.isClosed()) await nc.drain();
	}
}

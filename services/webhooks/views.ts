// What administrators see of endpoints and deliveries. Never the secret: it is answered once, by
// the creation alone (NFR-1), and is in neither view.
import type { DeliveryDoc, EndpointDoc } from "./deliveries";

export function endpointView(e: EndpointDoc) {
	return { id: e._id, url: e.url, events: e.events, description: e.description, createdAt: e.createdAt };
}

export function deliveryView(d: DeliveryDoc) {
	return {
		id: d._id,
		endpointId: d.endpointId,
		eventId: d.eventId,
		type: d.type,
		status: d.status,
		createdAt: d.createdAt,
		nextTryAt: d.nextTryAt ?? null,
		deliveredAt: d.deliveredAt ?? null,
		attempts: d.attempts.map(a => ({ at: a.at, manual: a.manual, statusCode: a.statusCode ?? null, error: a.error ?? null, durationMs: a.durationMs })),
		payload: JSON.parse(d.body) as unknown,
	};
}

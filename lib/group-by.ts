/** Items grouped by a key, groups and items in first-seen order (Map.groupBy arrives with Node 21). */
export function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K): Map<K, T[]> {
	const out = new Map<K, T[]>();
	for (const item of items) {
		const key = keyOf(item);
		const group = out.get(key);
		if (group) group.push(item);
		else out.set(key, [item]);
	}
	return out;
}

import type { Service, ServiceSchema } from "moleculer";

/* eslint-disable @typescript-eslint/no-explicit-any */
/** A service schema whose handlers see `this` as `TThis` (the service with its stores and methods). */
export type Schema<TThis extends Service> = ServiceSchema<any, any, any, TThis> & Record<string, unknown>;

/** Type-checks handlers against `TThis`, hands Moleculer a plain ServiceSchema. */
export function defineService<TThis extends Service>(schema: Schema<TThis>): ServiceSchema {
	return schema as unknown as ServiceSchema;
}

export function defineMixin<TThis extends Service>(schema: Partial<Schema<TThis>>): Partial<ServiceSchema> {
	return schema as unknown as Partial<ServiceSchema>;
}

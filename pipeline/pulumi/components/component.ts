/**
 * What every sub-component of `PipelineStack` shares: the SST-style `transform` hook (change a
 * main resource's args or options before it is made), and child options that keep each
 * resource's URN as it was before the stack had sub-components (an alias to the old parent).
 */
import * as pulumi from "@pulumi/pulumi";

/**
 * A change to one kind of resource: args merged in, or a function that edits args and options
 * in place (SST's `transform`). Called once per resource, with its logical name.
 */
export type Transform<Args> = Partial<Args> | ((args: Args, opts: pulumi.CustomResourceOptions, name: string) => void);

/** What the stack hands every sub-component: names, tags and the parent its resources had before. */
export interface ComponentContext {
  /** The stack's name: the prefix of every logical resource name (`spaceport-uploads`). */
  readonly name: string;
  /** `<pipeline>-<environment>`: the prefix of physical names (`spaceport-ml-prod-notify`). */
  readonly prefix: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** Applies a transform to freshly built args and options. */
export function transformed<Args extends object>(
  name: string,
  args: Args,
  opts: pulumi.CustomResourceOptions,
  transform: Transform<Args> | undefined,
): [string, Args, pulumi.CustomResourceOptions] {
  if (typeof transform === "function") transform(args, opts, name);
  else if (transform) Object.assign(args, transform);
  return [name, args, opts];
}

/**
 * Options for a sub-component's resources: parented to it, and aliased to the stack they were
 * parented to before, so `pulumi up` on an existing stack moves them instead of replacing them.
 */
export function childOptions(component: pulumi.ComponentResource, formerParent: pulumi.Resource | undefined, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
  return { parent: component, ...(formerParent ? { aliases: [{ parent: formerParent }] } : {}), ...extra };
}

/** JSON of a policy document output. */
export const json = <T>(document: pulumi.Output<T>): pulumi.Output<string> => document.apply((d) => JSON.stringify(d));

/** An IAM role a service may assume. */
export function assumeRolePolicy(service: string): string {
  return JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }] });
}

/**
 * Deliveries on AWS get their real Content-Type from a CloudFront function on the viewer
 * response, keyed on the extension, from the same table as the local file servers. Why here
 * and not on the objects: SageMaker's processing output upload stores every object without a
 * type (S3 then answers `binary/octet-stream`), and the distribution's headers policy sends
 * `X-Content-Type-Options: nosniff`, so a viewer script served untyped blanks the page.
 */
import * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import { CONTENT_TYPES } from "../content-types.js";

/**
 * The function's source (CloudFront Functions runtime `cloudfront-js-2.0`): sets the type of
 * successful responses whose extension the table knows, and leaves every other response as is.
 */
export function deliveryTypesFunctionCode(types: Readonly<Record<string, string>> = CONTENT_TYPES, options: { revalidate?: boolean } = {}): string {
  return [
    `var TYPES = ${JSON.stringify(types)};`,
    // A delivery whose files a preview held first (early runs): browsers ask again each time
    // (a 304 from the edge when nothing changed), so the final model shows at the same link.
    `var REVALIDATE = ${options.revalidate === true};`,
    "function handler(event) {",
    "  var response = event.response;",
    "  var uri = event.request.uri;",
    "  var name = uri.slice(uri.lastIndexOf('/') + 1);",
    "  var dot = name.lastIndexOf('.');",
    "  var type = dot > 0 ? TYPES[name.slice(dot).toLowerCase()] : undefined;",
    "  if (type && response.statusCode >= 200 && response.statusCode < 300) {",
    "    response.headers['content-type'] = { value: type };",
    "  }",
    "  if (REVALIDATE && response.statusCode >= 200 && response.statusCode < 300) {",
    "    response.headers['cache-control'] = { value: 'no-cache' };",
    "  }",
    "  return response;",
    "}",
  ].join("\n");
}

/** The published function, for the delivery behaviors' `viewer-response` association. */
export function deliveryTypesFunction(name: string, physicalName: string, opts: pulumi.CustomResourceOptions, revalidate = false): aws.cloudfront.Function {
  return new aws.cloudfront.Function(
    name,
    {
      name: physicalName,
      runtime: "cloudfront-js-2.0",
      comment: "Content-Type of delivery files by extension (SageMaker uploads them untyped)",
      publish: true,
      code: deliveryTypesFunctionCode(CONTENT_TYPES, { revalidate }),
    },
    opts,
  );
}

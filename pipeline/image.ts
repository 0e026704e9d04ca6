/**
 * A stage's container image. The Docker build context is the repository root so an image
 * can share the root lockfile and code; each image folder holds its Dockerfile and the
 * `entrypoint.sh` that Docker, SageMaker and the local runtime all start (images/README.md).
 */
export interface ImageRef {
  /** Folder of the image, relative to the repository root, e.g. `images/sfm`. */
  readonly directory: string;
  /** Docker build context, relative to the repository root. */
  readonly context: string;
  /** Dockerfile path, relative to the repository root. */
  readonly dockerfile: string;
  /** SageMaker runs linux/amd64 only. */
  readonly platform: "linux/amd64";
  /** The entry program, relative to the repository root (run natively by the local runtime). */
  readonly entrypoint: string;
}

const IMAGE_DIRECTORY = /^images\/[a-z0-9][a-z0-9-]*$/;

export function image(directory: string, options: { dockerfile?: string; entrypoint?: string } = {}): ImageRef {
  if (!IMAGE_DIRECTORY.test(directory)) {
    throw new Error(`image("${directory}"): an image folder must look like "images/<name>" (lowercase, digits, dashes)`);
  }
  return Object.freeze({
    directory,
    context: ".",
    dockerfile: options.dockerfile ?? `${directory}/Dockerfile`,
    platform: "linux/amd64",
    entrypoint: options.entrypoint ?? `${directory}/entrypoint.sh`,
  });
}

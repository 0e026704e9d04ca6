/**
 * `StageImages`: one ECR repository and one image per stage, built from the stage's image
 * folder (context: the repository root) and pushed as a plain Docker v2 manifest.
 */
import { relative, resolve } from "node:path";
import * as aws from "@pulumi/aws";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";
import type { Stage } from "../../stage.js";
import { childOptions, transformed, type ComponentContext, type Transform } from "./component.js";

export interface StageImagesArgs {
  readonly context: ComponentContext;
  readonly stages: readonly Stage[];
  /** Environment name: the tag pushed (`<repository>:<environment>`). */
  readonly environment: string;
  /** Repository root: the Docker build context of every image. */
  readonly root: string;
  readonly formerParent?: pulumi.Resource;
  readonly transform?: {
    readonly repository?: Transform<aws.ecr.RepositoryArgs>;
    readonly image?: Transform<dockerBuild.ImageArgs>;
  };
}

const fromCwd = (path: string): string => relative(process.cwd(), path) || ".";

export class StageImages extends pulumi.ComponentResource {
  readonly repositories: Record<string, aws.ecr.Repository> = {};
  /** `<repository>@sha256:<digest>` per stage: a new image means a new state machine definition. */
  readonly images: Record<string, pulumi.Output<string>> = {};

  constructor(name: string, args: StageImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("spaceport:pipeline:StageImages", name, {}, opts);
    // Push credentials for the account's registry (short-lived; fetched at each run).
    const registryAuth = aws.ecr.getAuthorizationTokenOutput({}, { parent: this });
    for (const stage of args.stages) {
      const repo = this.repository(args, stage);
      const image = this.image(args, stage, repo, registryAuth);
      this.repositories[stage.name] = repo;
      this.images[stage.name] = pulumi.interpolate`${repo.repositoryUrl}@${image.digest}`;
    }
    this.registerOutputs({ images: this.images });
  }

  private repository(args: StageImagesArgs, stage: Stage): aws.ecr.Repository {
    const { name, tags } = args.context;
    const repo = new aws.ecr.Repository(
      ...transformed(
        `${name}-${stage.name}`,
        { imageScanningConfiguration: { scanOnPush: true }, imageTagMutability: "MUTABLE", encryptionConfigurations: [{ encryptionType: "AES256" }], forceDelete: false, tags },
        childOptions(this, args.formerParent),
        args.transform?.repository,
      ),
    );
    new aws.ecr.LifecyclePolicy(
      `${name}-${stage.name}-lifecycle`,
      {
        repository: repo.name,
        policy: JSON.stringify({
          rules: [{ rulePriority: 1, description: "keep the last 10 images", selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 10 }, action: { type: "expire" } }],
        }),
      },
      childOptions(this, args.formerParent),
    );
    return repo;
  }

  private image(args: StageImagesArgs, stage: Stage, repo: aws.ecr.Repository, registryAuth: pulumi.Output<aws.ecr.GetAuthorizationTokenResult>): dockerBuild.Image {
    // docker-build directly (not awsx.ecr.Image) makes the manifest media type and attestations explicit.
    const tag = pulumi.interpolate`${repo.repositoryUrl}:${args.environment}`;
    const imageArgs: dockerBuild.ImageArgs = {
      // Relative to the directory Pulumi runs the program in (the project root), so the
      // inputs do not change between machines.
      context: { location: fromCwd(resolve(args.root, stage.image.context)) },
      dockerfile: { location: fromCwd(resolve(args.root, stage.image.dockerfile)) },
      platforms: [stage.image.platform as dockerBuild.Platform],
      tags: [tag],
      // A plain Docker v2 schema-2 manifest (not OCI, not an index): SageMaker has been seen to
      // reject attestation indexes. docker-build attaches no provenance/SBOM attestations
      // unless asked, and nothing here asks.
      exports: [{ registry: { ociMediaTypes: false, push: true } }],
      push: false, // the registry export above pushes; `push: true` would add a second, default export
      registries: [{ address: repo.repositoryUrl, username: registryAuth.userName, password: pulumi.secret(registryAuth.password) }],
      // `pulumi preview` must not build the (CUDA) images; `pulumi up` builds them.
      buildOnPreview: false,
      cacheFrom: [{ registry: { ref: tag } }],
      cacheTo: [{ inline: {} }],
    };
    return new dockerBuild.Image(...transformed(`${args.context.name}-${stage.name}-image`, imageArgs, childOptions(this, args.formerParent), args.transform?.image));
  }
}

import type { SourcePos } from '../errors.js';
import type { FormConfig } from '../model/form.js';
import type { TriggerType } from '../model/run.js';

/** The `common` section of a floe config. */
export interface CommonConfig {
  /** Other floe hosts, as base URLs (`http://10.0.0.2:8080`). */
  hosts: string[];
  /** Prefix of the HTTP API. Default `/build/api`. */
  baseUrl: string;
  /** Where this config came from (informational; a git path is resolved by the loader). */
  configPath?: string;
  /** Run store kind. Default `local`. */
  storeType: 'memory' | 'local';
  /** Directory for the LevelDB store and the fetch cache. Default `<workspace-root>/../store` i.e. `.floe/store`. */
  storeRoot?: string;
  /** Directory under which run workspaces are made. Default `.floe/ws`. */
  workspaceRoot?: string;
  /** Private key used for git over ssh when a task gives none. */
  gitKey?: string;
  /** Who may log in to the API. Empty: only `admin`, with the -admin token as password. */
  users: UserConfig[];
  /** How long a login session lasts, in seconds. Default 43200 (12 hours). */
  sessionTtlSec: number;
  /** Reverse proxies (addresses, CIDR ranges) whose X-Forwarded-For names the client. Default none. */
  trustedProxies: string[];
}

/** admin and user may change things (trigger, cancel, rerun); viewer may only read. */
export type Role = 'admin' | 'user' | 'viewer';

/** One entry of `common.users`. */
export interface UserConfig {
  user: string;
  /** scrypt hash as `floe hash-password` prints it, never the password itself. */
  password: string;
  /** Default `user`. */
  role: Role;
}

export interface TriggerConfig {
  id: string;
  name: string;
  type: TriggerType;
  /** Type-specific options, already checked by the trigger's parser. */
  opts: Record<string, unknown>;
  /** data triggers: the form; undefined for a form-less data trigger. */
  form?: FormConfig;
  /** timer and poll-git triggers: seconds between firings/polls. */
  periodSec?: number;
  at: SourcePos;
}

export type MergeType = 'all' | 'any';

export interface TaskConfig {
  id: string;
  name: string;
  class: 'task';
  /** The event tag that starts this task. */
  listen: string;
  type: string;
  /** Exit statuses that count as success. Default [0]. */
  good: number[];
  ignoreFail: boolean;
  useStatus: boolean;
  /** Raw opts as written (templates unexpanded); the node type parses them. */
  opts: Record<string, unknown>;
  at: SourcePos;
}

export interface MergeConfig {
  id: string;
  name: string;
  class: 'merge';
  wait: string[];
  type: MergeType;
  at: SourcePos;
}

export type NodeConfig = TaskConfig | MergeConfig;

export interface FlowConfig {
  id: string;
  ver: number;
  name: string;
  reuseSpace: boolean;
  hostTags: string[];
  resourceTags: string[];
  /** `KEY=value` entries; values may hold `{{ws}}` or start with `.`. */
  env: string[];
  /** Reference to a file that supplies this flow's nodes when a run starts. */
  flowFile?: string;
  triggers: TriggerConfig[];
  /** Tasks and merges, in file order. */
  nodes: NodeConfig[];
  at: SourcePos;
}

export interface Config {
  /** Absolute path of the file the config was read from (or a label such as `<inline>`). */
  file: string;
  common: CommonConfig;
  flows: FlowConfig[];
}

/**
 * Every Kubernetes API call the gke worker makes in a target cluster, as data: what the chart's
 * RBAC for the worker's Google identity (deploy/charts/pipeline-worker, rbac.*) must allow, and
 * nothing more. test/unit/deploy/worker-rbac.test.ts keeps the three in step: it records the
 * requests the real kube client, Triton probe and activities send, requires each to be declared
 * here and allowed by the rendered chart, requires every call declared for them to be made, derives
 * helm's kinds from the triton chart rendered with the pipeline's own values, and requires every
 * rule the chart renders to serve a call listed here. Pure.
 *
 * Discovery (GET /api/v1, /apis/<group>/<version>: the kube client looks up each kind's resource
 * name there) is not listed: Kubernetes grants it to every authenticated user (system:discovery).
 */

export type ApiVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'bind' | 'escalate';

/**
 * Where a call lands, i.e. where the chart binds the rule that allows it:
 *   cluster          cluster-scoped objects (ClusterRole `<release>-cluster`)
 *   jobs             the Job namespace (src/plan/jobs.ts JOB_NAMESPACE; rbac.jobNamespace)
 *   releases         each release namespace (rbac.releaseNamespaces)
 *   driver           the driver installer's namespace (rbac.driverNamespace)
 *   metrics adapter  the objects of deploy/manifests/custom-metrics-adapter.yaml, by name (rbac.metricsAdapter)
 */
export type ApiScope = 'cluster' | 'jobs' | 'releases' | 'driver' | 'metrics adapter';

export interface WorkerApiCall {
  /**
   * Who sends it: src/clients/kube.ts, src/clients/triton-probe.ts, helm (src/clients/helm.ts runs
   * helm v3 against the release), or the API server's RBAC escalation check on the RBAC objects
   * the worker applies (no request of its own).
   */
  by: 'kube client' | 'triton probe' | 'helm' | 'rbac escalation check';
  /** API group; '' is the core group. */
  group: string;
  /** Plural resource name, as in an RBAC rule. */
  resource: string;
  subresource?: string;
  verbs: readonly ApiVerb[];
  namespaced: boolean;
  scope: ApiScope;
  why: string;
}

/** Server-side apply (PATCH application/apply-patch+yaml) needs patch, and create when the object is new. */
const APPLY: readonly ApiVerb[] = ['create', 'patch'];

/** What helm v3 does to each object of the chart: read it (ownership, three-way merge, --wait), create, patch, delete. */
const HELM_OBJECT: readonly ApiVerb[] = ['get', 'create', 'patch', 'delete'];

export const WORKER_API_CALLS: readonly WorkerApiCall[] = [
  // The kube client (src/clients/kube.ts), called by the activities.
  { by: 'kube client', group: '', resource: 'nodes', verbs: ['list'], namespaced: false, scope: 'cluster', why: 'awaitAllocatableGpus lists the GPU pool\'s nodes (listNodes)' },
  { by: 'kube client', group: '', resource: 'namespaces', verbs: APPLY, namespaced: false, scope: 'cluster', why: 'runJob applies the Job namespace; enableAutoscaling applies the metrics adapter\'s' },
  { by: 'kube client', group: 'batch', resource: 'jobs', verbs: ['get', ...APPLY, 'delete'], namespaced: true, scope: 'jobs', why: 'engine builds and perf sweeps: read the status (jobStatus), apply, delete a failed or cancelled Job' },
  { by: 'kube client', group: '', resource: 'configmaps', verbs: APPLY, namespaced: true, scope: 'jobs', why: 'the engine build\'s script ConfigMap (deploy/jobs)' },
  { by: 'kube client', group: '', resource: 'pods', verbs: ['list'], namespaced: true, scope: 'jobs', why: 'jobLogs finds the Job\'s pods (label job-name)' },
  { by: 'kube client', group: '', resource: 'pods', subresource: 'log', verbs: ['get'], namespaced: true, scope: 'jobs', why: 'jobLogs reads the newest pod\'s log: the perf CSV and failure tails' },
  { by: 'kube client', group: 'apps', resource: 'daemonsets', verbs: APPLY, namespaced: true, scope: 'driver', why: 'ensureGpuDriver applies deploy/manifests/nvidia-driver-installer.yaml' },
  { by: 'kube client', group: 'autoscaling', resource: 'horizontalpodautoscalers', verbs: ['get', ...APPLY], namespaced: true, scope: 'releases', why: 'enableAutoscaling applies the pipeline\'s HPA (renderHpa); runLoadDrill reads its status' },
  { by: 'kube client', group: 'apps', resource: 'deployments', verbs: ['get'], namespaced: true, scope: 'releases', why: 'runLoadDrill reads the Triton Deployment\'s replicas' },
  { by: 'kube client', group: '', resource: 'serviceaccounts', verbs: APPLY, namespaced: true, scope: 'metrics adapter', why: 'enableAutoscaling applies the metrics adapter' },
  { by: 'kube client', group: '', resource: 'services', verbs: APPLY, namespaced: true, scope: 'metrics adapter', why: 'enableAutoscaling applies the metrics adapter' },
  { by: 'kube client', group: 'apps', resource: 'deployments', verbs: APPLY, namespaced: true, scope: 'metrics adapter', why: 'enableAutoscaling applies the metrics adapter' },
  { by: 'kube client', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verbs: APPLY, namespaced: false, scope: 'metrics adapter', why: 'enableAutoscaling applies the metrics adapter' },
  { by: 'kube client', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings', verbs: APPLY, namespaced: false, scope: 'metrics adapter', why: 'enableAutoscaling applies the metrics adapter' },
  { by: 'kube client', group: 'rbac.authorization.k8s.io', resource: 'rolebindings', verbs: APPLY, namespaced: true, scope: 'metrics adapter', why: 'enableAutoscaling applies the metrics adapter (its auth reader binding in kube-system)' },
  { by: 'kube client', group: 'apiregistration.k8s.io', resource: 'apiservices', verbs: APPLY, namespaced: false, scope: 'metrics adapter', why: 'enableAutoscaling registers the adapter\'s custom and external metrics APIs' },
  { by: 'rbac escalation check', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', verbs: ['escalate', 'bind'], namespaced: false, scope: 'metrics adapter', why: 'creating the adapter\'s cluster roles and bindings grants what the worker does not hold' },
  { by: 'rbac escalation check', group: 'rbac.authorization.k8s.io', resource: 'roles', verbs: ['bind'], namespaced: true, scope: 'metrics adapter', why: 'the adapter\'s binding to extension-apiserver-authentication-reader in kube-system' },

  // The Triton probe (src/clients/triton-probe.ts), called by the helm and perf activities.
  { by: 'triton probe', group: 'apps', resource: 'deployments', verbs: ['get'], namespaced: true, scope: 'releases', why: 'ready: the release\'s Deployment rolled out, and its args (repository, models)' },
  { by: 'triton probe', group: '', resource: 'services', subresource: 'proxy', verbs: ['get'], namespaced: true, scope: 'releases', why: 'ready: Triton\'s /v2/health/ready through the API server\'s service proxy' },
  { by: 'triton probe', group: '', resource: 'pods', verbs: ['list'], namespaced: true, scope: 'releases', why: 'scrapeMetrics: the release\'s Ready pods' },
  { by: 'triton probe', group: '', resource: 'pods', subresource: 'proxy', verbs: ['get'], namespaced: true, scope: 'releases', why: 'scrapeMetrics: each pod\'s metrics port through the pod proxy' },

  // helm v3 (upgrade --install --create-namespace --wait, history, get values, rollback --wait, uninstall --wait).
  { by: 'helm', group: '', resource: 'secrets', verbs: ['get', 'list', 'create', 'update', 'delete'], namespaced: true, scope: 'releases', why: 'release storage: one Secret per revision (history lists, get values reads, upgrades create and supersede, --history-max and uninstall delete)' },
  { by: 'helm', group: '', resource: 'namespaces', verbs: ['create'], namespaced: false, scope: 'cluster', why: 'upgrade --install --create-namespace on a first install' },
  { by: 'helm', group: 'apps', resource: 'deployments', verbs: HELM_OBJECT, namespaced: true, scope: 'releases', why: 'the triton chart\'s Deployment' },
  { by: 'helm', group: 'apps', resource: 'replicasets', verbs: ['list'], namespaced: true, scope: 'releases', why: '--wait finds the Deployment\'s new ReplicaSet' },
  { by: 'helm', group: '', resource: 'services', verbs: HELM_OBJECT, namespaced: true, scope: 'releases', why: 'the triton chart\'s Service (--wait reads it for its load balancer)' },
  { by: 'helm', group: '', resource: 'serviceaccounts', verbs: HELM_OBJECT, namespaced: true, scope: 'releases', why: 'the triton chart\'s ServiceAccount (each release reads the bucket as its own)' },
  { by: 'helm', group: 'monitoring.googleapis.com', resource: 'podmonitorings', verbs: HELM_OBJECT, namespaced: true, scope: 'releases', why: 'spec release.monitoring podmonitoring (Google Managed Prometheus)' },
  { by: 'helm', group: 'monitoring.coreos.com', resource: 'servicemonitors', verbs: HELM_OBJECT, namespaced: true, scope: 'releases', why: 'spec release.monitoring servicemonitor (Prometheus Operator)' },
  { by: 'helm', group: 'monitoring.googleapis.com', resource: 'rules', verbs: HELM_OBJECT, namespaced: true, scope: 'releases', why: 'the recording rule the HPA reads for triton-queue-time-us (podmonitoring: Managed Prometheus)' },
  { by: 'helm', group: 'monitoring.googleapis.com', resource: 'clusterrules', verbs: HELM_OBJECT, namespaced: false, scope: 'cluster', why: 'the recording rule the HPA reads for gpu-utilization: cluster-scoped, as GKE\'s DCGM series live in gke-managed-system' },
];


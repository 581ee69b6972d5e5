"""The metrics and certify commands: latent geometry and certified radii of trained zoo models."""

from __future__ import annotations

import argparse
from pathlib import Path

from lpcbench.cli.common import check_dataset, number, resolve_zoo_dir, selected_records, trained_records


def metrics_command(args: argparse.Namespace) -> int:
    from lpcbench.bench import latent_metrics
    from lpcbench.data import load_dataset
    from lpcbench.io import write_json
    from lpcbench.paths import results_dir
    from lpcbench.zoo import store
    from lpcbench.zoo.registry import parse_model_ids
    from lpcbench.zoo.trainer import resolve_device

    check_dataset(args.dataset)
    model_ids = parse_model_ids(args.model)
    device = resolve_device(args.device)
    zoo_dir = resolve_zoo_dir(args.zoo_dir)
    if args.model != "all":
        for model_id in model_ids:
            trained_records(zoo_dir, args.dataset, model_id, args.train_seed)
    splits = ("train", "test") if args.split == "both" else (args.split,)
    data = load_dataset(args.dataset, args.data_dir)
    out_root = results_dir(args.results_dir)

    print(f"latent metrics on {args.dataset} ({args.labels} labels; test R against training centroids)")
    print(f"{'model':11} {'seed':>4} {'split':5} {'acc':>6} {'R':>9} {'Sigma_W':>10} {'CV|z|':>7} {'H/d':>8} {'NC1':>10} {'peaks':>7}")
    for model_id in model_ids:
        records = selected_records(zoo_dir, args.dataset, model_id, args.train_seed)
        for record in records:
            model, card = store.load_model(Path(zoo_dir) / args.dataset / model_id / record["selected_run"], device)
            result = latent_metrics(model, data, splits=splits, labels=args.labels, device=device)
            path = out_root / "metrics" / args.dataset / model_id / f"seed{record['seed']}.json"
            write_json(path, {"dataset": args.dataset, "model_id": model_id, "train_seed": int(record["seed"]), "run": record["selected_run"], "weights_sha256": card["weights_sha256"], **result})
            for split in splits:
                values = result[split]
                print(
                    f"{model_id:11} {record['seed']:>4} {split:5} {values['accuracy']:6.3f} {number(values['separation_ratio']['value']):>9} "
                    f"{values['within_class_covariance']['value']:10.3g} {number(values['norm_variation']['value']):>7} "
                    f"{number(values['kl_entropy']['value']):>8} {values['neural_collapse']['value']:10.3g} {number(values['binarity']['peak_distance']):>7}"
                )
    print("R: separation ratio (LPC paper Eq. 8); Sigma_W: trace / P; CV|z|: std / mean of ||z||; H/d: Kozachenko-Leonenko entropy (k = 20) per dimension;")
    print(f"NC1: Tr(Sigma_W Sigma_B^+) / K; peaks: binarity peak distance (App. D, standardised nodes). Written under {out_root / 'metrics' / args.dataset}")
    return 0

def certify_command(args: argparse.Namespace) -> int:
    import torch

    from lpcbench.attacks import deepfool
    from lpcbench.bench import latents
    from lpcbench.certify import NotCertifiable, certified_radius, collapse_radius_estimate, empirical_local_lipschitz
    from lpcbench.data import load_dataset
    from lpcbench.data.sampling import indices_hash, sample_indices
    from lpcbench.io import write_json
    from lpcbench.paths import results_dir
    from lpcbench.zoo import store
    from lpcbench.zoo.registry import parse_model_ids
    from lpcbench.zoo.trainer import resolve_device

    check_dataset(args.dataset)
    if args.n < 1:
        raise ValueError(f"--n must be a positive integer, got {args.n}")
    model_ids = parse_model_ids(args.model)
    device = resolve_device(args.device)
    zoo_dir = resolve_zoo_dir(args.zoo_dir)
    if args.model != "all":
        for model_id in model_ids:
            trained_records(zoo_dir, args.dataset, model_id, args.train_seed)
    data = load_dataset(args.dataset, args.data_dir)
    indices, note = sample_indices(len(data.test), args.n, args.sample_seed)
    if note:
        print(f"note: {note}")
    x, y = data.test.x[indices], data.test.y[indices]
    input_norms = x.flatten(1).double().norm(dim=1)
    out_root = results_dir(args.results_dir)

    print("certified radius r(x) = latent margin / L_z: a CERTIFICATE (no smaller L2 perturbation changes the prediction);")
    print("DeepFool's norm is an attack's upper bound; the true minimal perturbation lies between them.")
    print(f"{'model':11} {'seed':>4} {'L_z bound':>10} {'median r':>10} {'median r/||x||':>15} {'median r/DeepFool':>18} {'violations':>10}  note")
    for model_id in model_ids:
        records = selected_records(zoo_dir, args.dataset, model_id, args.train_seed)
        for record in records:
            model, card = store.load_model(Path(zoo_dir) / args.dataset / model_id / record["selected_run"], device)
            try:
                certificate = certified_radius(model, x, y)
            except NotCertifiable as error:
                print(f"{model_id:11} {record['seed']:>4} {'':>10} {'':>10} {'':>15} {'':>18} {'':>10}  not certifiable: {error}")
                continue
            attack = deepfool(model, x, y)
            both = ~certificate.misclassified & attack.success
            ratio = certificate.radius[both] / attack.perturbation_norm[both]
            violations = int((certificate.radius[both] > attack.perturbation_norm[both] * (1 + 1e-9)).sum())
            z_train, _ = latents(model, data.train, device)
            weight = model.classifier_weight.detach().double().cpu()
            classes = collapse_radius_estimate(z_train, data.train.y, weight, certificate.lipschitz_bound)
            local = empirical_local_lipschitz(model, x[:64], y[:64])
            margin_bound = certificate.lipschitz_bound * float(torch.cdist(weight, weight).max())
            radius = certificate.radius[~certificate.misclassified]
            median_radius = float(radius.quantile(0.5)) if radius.numel() else None
            median_relative = float((radius / input_norms[~certificate.misclassified]).quantile(0.5)) if radius.numel() else None
            median_ratio = float(ratio.quantile(0.5)) if ratio.numel() else None
            write_json(
                out_root / "certify" / args.dataset / model_id / f"seed{record['seed']}.json",
                {
                    "dataset": args.dataset, "model_id": model_id, "train_seed": int(record["seed"]), "run": record["selected_run"],
                    "weights_sha256": card["weights_sha256"], "test_indices_sha256": indices_hash(indices), "sample_seed": args.sample_seed,
                    "kind": "certificate", "lipschitz_bound": certificate.lipschitz_bound, "layers": certificate.layers,
                    "median_radius": median_radius, "median_relative_radius": median_relative, "median_radius_over_deepfool": median_ratio,
                    "violations": violations, "misclassified": int(certificate.misclassified.sum()),
                    "per_input": {"index": [int(i) for i in indices], "radius": certificate.radius.tolist(), "latent_margin": certificate.latent_margin.tolist(), "deepfool_norm": [float(v) if bool(s) else None for v, s in zip(attack.perturbation_norm, attack.success)]},
                    "collapse_radius_estimate": classes,
                    "empirical_local_lipschitz": {"kind": "estimate", "median": float(local.quantile(0.5)), "max": float(local.max()), "margin_lipschitz_bound": margin_bound, "inputs": int(local.numel())},
                },
            )
            print(
                f"{model_id:11} {record['seed']:>4} {certificate.lipschitz_bound:10.3g} {number(median_radius):>10} {number(median_relative):>15} "
                f"{number(median_ratio):>18} {violations:>10}  local margin Lipschitz estimate {float(local.quantile(0.5)):.3g} vs bound {margin_bound:.3g}"
            )
    print(f"Written under {out_root / 'certify' / args.dataset}; collapse-radius figures there are estimates, labelled so.")
    return 0

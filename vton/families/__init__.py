"""Try-on model families beyond GMM + TOM (`vton.models`), one module per network family.

- `unet_sa`: the 41-channel U-Net + self-attention GAN (generator, 70x70 spectral-norm
  PatchGAN, LSGAN + VGG + L1 + feature-matching losses).
- `tocg`: HR-VITON's try-on condition generator (appearance-flow warping, condition aligning,
  occlusion removal, multi-scale discriminator, its losses and the 7-group parse for the SPADE
  image generator).

They build on `vton.models` (config-carrying modules, VGG features, shared losses). Training
stages, the family registry and inference for them are not wired yet.
"""
